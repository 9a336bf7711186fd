import { describe, expect, it } from "vitest";
import { encodeModel } from "../../src/model/format";
import { expectOipError, freshApp, imageBytes, json, toRows } from "./helpers";

interface Out {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}
interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: Out[];
}

const infer = (inputs: unknown, extra: Record<string, unknown> = {}) => json({ inputs, ...extra });

describe("Open Inference Protocol: health and metadata", () => {
  const { call } = freshApp();

  it("should describe the server at GET /v2", async () => {
    const body = (await (await call("/v2")).json()) as { name: string; version: string; extensions: string[] };
    expect(body.name).toBe("mnist-edge");
    expect(typeof body.version).toBe("string");
    expect(Array.isArray(body.extensions)).toBe(true);
  });

  it("should be live and ready", async () => {
    const live = await call("/v2/health/live");
    expect(live.status).toBe(200);
    // Liveness says only that the process answers; readiness is its own probe.
    expect(await live.json()).toEqual({ live: true });
    expect((await call("/v2/health/ready")).status).toBe(200);
  });

  it("should describe a model from its header without decoding it", async () => {
    const fresh = freshApp();
    expect((await fresh.call("/v2/models/mnist-mlp")).status).toBe(200);
    const card = (await (await fresh.call("/v1/models/mnist-mlp")).json()) as { decoded: boolean };
    expect(card.decoded).toBe(false);
  });

  it("should report a model ready (200) or unknown (404)", async () => {
    expect((await call("/v2/models/mnist-mlp/ready")).status).toBe(200);
    expect((await call("/v2/models/mnist-mlp/versions/1/ready")).status).toBe(200);
    await expectOipError(await call("/v2/models/nope/ready"), 404);
    await expectOipError(await call("/v2/models/mnist-mlp/versions/7/ready"), 404);
  });

  it("should give model metadata with -1 for the batch dimension", async () => {
    const body = (await (await call("/v2/models/mnist-book")).json()) as { name: string; versions: string[]; platform: string; inputs: Out[]; outputs: Out[] };
    expect(body.name).toBe("mnist-book");
    expect(body.versions).toEqual(["1"]);
    expect(body.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 784] }]);
    expect(body.outputs).toContainEqual({ name: "probabilities", datatype: "FP32", shape: [-1, 10] });
    expect(body.outputs).toEqual([
      { name: "probabilities", datatype: "FP32", shape: [-1, 10] },
      { name: "label", datatype: "INT64", shape: [-1] },
      { name: "logits", datatype: "FP32", shape: [-1, 10] },
    ]);
    expect(body.platform).toBe("mnist-edge_safetensors");
    expect((await call("/v2/models/mnist-book/versions/1")).status).toBe(200);
  });
});

describe("POST /v2/models/{model}/infer", () => {
  const { call } = freshApp();
  const n = 4;
  const bytes = imageBytes(n, 12);
  const rows = toRows(bytes, n);

  it("should answer FP32 flat data with probabilities and labels, echoing the id", async () => {
    const res = await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [n, 784], datatype: "FP32", data: rows.flat() }], { id: "req-42" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as InferResponse;
    expect(body.model_name).toBe("mnist-mlp");
    expect(body.id).toBe("req-42");
    const [probs, label] = body.outputs;
    expect(probs).toMatchObject({ name: "probabilities", shape: [n, 10], datatype: "FP32" });
    expect(probs.data).toHaveLength(n * 10);
    expect(label).toMatchObject({ name: "label", shape: [n], datatype: "INT64" });
    // Same answers as the native API.
    const native = (await (await call("/v1/models/mnist-mlp/predict", json({ inputs: rows }))).json()) as {
      predictions: { label: number; probabilities: number[] }[];
    };
    expect(label.data).toEqual(native.predictions.map((p) => p.label));
    expect(probs.data).toEqual(native.predictions.flatMap((p) => p.probabilities));
  });

  it("should take UINT8 data nested as [N, 28, 28] and give the same labels", async () => {
    const nested = Array.from({ length: n }, (_, i) =>
      Array.from({ length: 28 }, (_, r) => Array.from(bytes.subarray(i * 784 + r * 28, i * 784 + r * 28 + 28))),
    );
    const a = (await (
      await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [n, 28, 28], datatype: "UINT8", data: nested }]))
    ).json()) as InferResponse;
    const b = (await (
      await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [n, 784], datatype: "FP32", data: rows.flat() }]))
    ).json()) as InferResponse;
    expect(a.outputs[1].data).toEqual(b.outputs[1].data);
    a.outputs[0].data.forEach((v, i) => {
      expect(Math.abs(v - b.outputs[0].data[i])).toBeLessThan(1e-6);
    });
  });

  it("should return only the outputs asked for, logits included", async () => {
    const body = (await (
      await call(
        "/v2/models/mnist-mlp/versions/1/infer",
        infer([{ name: "input", shape: [n, 784], datatype: "FP32", data: rows.flat() }], { outputs: [{ name: "label" }, { name: "logits" }] }),
      )
    ).json()) as InferResponse;
    expect(body.outputs.map((o) => o.name)).toEqual(["label", "logits"]);
    expect(body.outputs[1].shape).toEqual([n, 10]);
  });

  it("should refuse bad tensors with a pointer and an error member", async () => {
    const cases: [unknown, string, RegExp][] = [
      [[{ name: "input", shape: [n, 784], datatype: "BOOL", data: rows.flat() }], "/inputs/0/datatype", /BOOL/],
      [[{ name: "input", shape: [n, 700], datatype: "FP32", data: rows.flat() }], "/inputs/0/shape", /shape/],
      [[{ name: "input", shape: [n, 784], datatype: "FP32", data: rows.flat().slice(1) }], "/inputs/0/data", /values but shape/],
      [[{ name: "input", shape: [1, 784], datatype: "UINT8", data: [...new Array(783).fill(0), 256] }], "/inputs/0/data/783", /UINT8/],
      [[{ name: "input", shape: [1, 784], datatype: "INT8", data: [...new Array(783).fill(0), 128] }], "/inputs/0/data/783", /INT8 holds at most 127/],
      [[{ name: "input", shape: [1, 784], datatype: "FP32", data: [...new Array(10).fill(0), "x", ...new Array(773).fill(0)] }], "/inputs/0/data/10", /FP32/],
    ];
    for (const [inputs, pointer, message] of cases) {
      const body = await expectOipError(await call("/v2/models/mnist-mlp/infer", infer(inputs)), 400);
      expect(body.pointer).toBe(pointer);
      expect(body.error).toMatch(message);
    }
    const unknownOut = await expectOipError(
      await call(
        "/v2/models/mnist-mlp/infer",
        infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }], { outputs: [{ name: "embedding" }] }),
      ),
      400,
    );
    expect(unknownOut.pointer).toBe("/outputs/0/name");
    await expectOipError(await call("/v2/models/mnist-mlp/infer", json({ inputs: [] })), 400);
    await expectOipError(await call("/v2/models/nope/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }])), 404);
    await expectOipError(
      await call("/v2/models/mnist-mlp/versions/2/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }])),
      404,
    );
    await expectOipError(await call("/v2/models/mnist-mlp/infer", { method: "GET" }), 405);
  });

  it("should read a body without Content-Type as JSON, with or without Inference-Header-Content-Length", async () => {
    // Bytes, not a string: a string body would get a text/plain Content-Type.
    const body = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }] }));
    const plain = await call("/v2/models/mnist-mlp/infer", { method: "POST", body });
    expect(plain.status).toBe(200);
    // The binary tensor data extension's header, with no binary data after the JSON (test/worker/oip-binary.test.ts has the rest).
    const binary = await call("/v2/models/mnist-mlp/infer", { method: "POST", headers: { "Inference-Header-Content-Length": String(body.length) }, body });
    expect(binary.status).toBe(200);
    expect(await binary.json()).toEqual(await plain.json());
  });

  it("should take [N, 1, 28, 28] and refuse shapes that are not a batch of images", async () => {
    const data = new Array(784).fill(0);
    expect((await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [1, 1, 28, 28], datatype: "FP32", data }]))).status).toBe(200);
    for (const shape of [[0, 784], [2, 392, 2], [784], [1, 2, 28, 14]]) {
      const res = await call(
        "/v2/models/mnist-mlp/infer",
        infer([{ name: "input", shape, datatype: "FP32", data: shape[0] === 2 ? [...data, ...data] : data }]),
      );
      const problem = await expectOipError(res, 400);
      expect(problem.pointer).toBe("/inputs/0/shape");
      expect(problem.error).toMatch(/\[N, 784\]/);
    }
  });

  it("should name the model's own input size in shape errors", async () => {
    const layer = { W: new Float32Array(4 * 3).fill(0.1), b: new Float32Array(3), inSize: 4, outSize: 3, activation: "softmax" as const };
    const bytes = encodeModel({ layers: [layer] }, { inputShape: [2, 2], labels: ["a", "b", "c"] });
    const tiny = freshApp({ tiny: bytes.slice().buffer }, "tiny");
    const res = await tiny.call("/v2/models/tiny/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }]));
    expect((await expectOipError(res, 400)).error).toMatch(/\[N, 4\] or \[N, 2, 2\]/);
    const ok = await tiny.call("/v2/models/tiny/infer", infer([{ name: "input", shape: [1, 2, 2], datatype: "FP32", data: [0, 1, 0.5, 0] }]));
    expect(ok.status).toBe(200);
  });

  it("should return every declared output for an empty outputs list", async () => {
    const body = (await (
      await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }], { outputs: [] }))
    ).json()) as InferResponse;
    expect(body.outputs.map((o) => o.name)).toEqual(["probabilities", "label", "logits"]);
  });

  it("should apply the batch limit", async () => {
    const res = await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [4, 784], datatype: "FP32", data: rows.flat() }]), { MAX_BATCH: "2" });
    await expectOipError(res, 413);
  });
});

describe("Open Inference Protocol: what real clients send", () => {
  const { call } = freshApp();
  const zeros = new Array(784).fill(0);
  const one = (datatype: string, data: unknown[] = zeros, shape = [1, 784]) => ({ inputs: [{ name: "input", shape, datatype, data }] });
  const text = (body: unknown) => JSON.stringify(body);

  it("should read JSON whatever the Content-Type says, or without one", async () => {
    for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "application/octet-stream", undefined]) {
      const headers: Record<string, string> = type ? { "Content-Type": type } : {};
      const res = await call("/v2/models/mnist-mlp/infer", { method: "POST", headers, body: new TextEncoder().encode(text(one("FP32"))) });
      expect(res.status, String(type)).toBe(200);
    }
    const notJson = await call("/v2/models/mnist-mlp/infer", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "input=1" });
    expect((await expectOipError(notJson, 400)).error).toMatch(/not valid JSON.*"inputs"/);
  });

  it("should read optional fields sent as null as absent", async () => {
    const body = { id: null, parameters: null, outputs: null, inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", parameters: null, data: zeros }] };
    const res = await call("/v2/models/mnist-mlp/infer", json(body));
    expect(res.status).toBe(200);
    const answer = (await res.json()) as InferResponse;
    expect("id" in answer).toBe(false);
    expect(answer.outputs.map((o) => o.name)).toEqual(["probabilities", "label", "logits"]);
  });

  it("should serve the /v2 routes with a trailing slash", async () => {
    for (const path of ["/v2/", "/v2/health/live/", "/v2/health/ready/", "/v2/models/mnist-mlp/", "/v2/models/mnist-mlp/ready/"])
      expect((await call(path)).status, path).toBe(200);
    expect((await call("/v2/models/mnist-mlp/infer/", json(one("FP32")))).status).toBe(200);
  });

  it("should take FP16, FP64 and the integer datatypes, each within its range", async () => {
    const labels = async (datatype: string, data: unknown[]) => {
      const res = await call("/v2/models/mnist-mlp/infer", json({ ...one(datatype, data), outputs: [{ name: "label" }] }));
      expect(res.status, datatype).toBe(200);
      return ((await res.json()) as InferResponse).outputs[0].data;
    };
    const px = Array.from(imageBytes(1, 21));
    const want = await labels("UINT8", px);
    for (const t of ["FP16", "FP32", "FP64"])
      expect(
        await labels(
          t,
          px.map((v) => v / 255),
        ),
      ).toEqual(want);
    for (const t of ["UINT16", "UINT32", "UINT64", "INT16", "INT32", "INT64"]) expect(await labels(t, px)).toEqual(want);
    const bad: [string, unknown, RegExp][] = [
      ["INT8", 200, /INT8 holds at most 127/],
      ["UINT16", 300, /\[0, 255\]/],
      ["INT32", -1, /\[0, 255\]/],
      ["INT64", 1.5, /whole number/],
      ["FP64", 1.5, /\[0, 1\]/],
    ];
    for (const [t, v, message] of bad) {
      const err = await expectOipError(await call("/v2/models/mnist-mlp/infer", json(one(t, [v, ...zeros.slice(1)]))), 400);
      expect(err.pointer, t).toBe("/inputs/0/data/0");
      expect(err.error, t).toMatch(message);
    }
    for (const t of ["BOOL", "BYTES"])
      expect((await expectOipError(await call("/v2/models/mnist-mlp/infer", json(one(t))), 400)).pointer).toBe("/inputs/0/datatype");
  });

  it("should refuse nested data that does not match the shape exactly", async () => {
    // Ragged rows holding the right number of values in all are refused, not re-split.
    const ragged = await call("/v2/models/mnist-mlp/infer", json(one("FP32", [[0], new Array(1567).fill(0)], [2, 784])));
    expect((await expectOipError(ragged, 400)).pointer).toBe("/inputs/0/data/0");
    const flatInNested = await call("/v2/models/mnist-mlp/infer", json(one("FP32", [zeros], [1, 28, 28])));
    expect((await expectOipError(flatInNested, 400)).pointer).toBe("/inputs/0/data/0");
    const nested = Array.from({ length: 28 }, () => new Array(28).fill(0));
    expect((await call("/v2/models/mnist-mlp/infer", json(one("FP32", [nested], [1, 28, 28])))).status).toBe(200);
    expect((await call("/v2/models/mnist-mlp/infer", json(one("FP32", [zeros], [1, 784])))).status).toBe(200);
  });

  it("should answer shapes and datatypes as the metadata declares them, and refuse an output asked twice", async () => {
    const meta = (await (await call("/v2/models/mnist-mlp")).json()) as { outputs: Out[] };
    const res = await call("/v2/models/mnist-mlp/infer", json(one("UINT8", new Array(3 * 784).fill(0), [3, 784])));
    const answer = (await res.json()) as InferResponse;
    for (const out of answer.outputs) {
      const declared = meta.outputs.find((o) => o.name === out.name) as Out;
      expect(out.datatype).toBe(declared.datatype);
      expect(out.shape.length).toBe(declared.shape.length);
      for (const [i, d] of declared.shape.entries()) expect(d === -1 || d === out.shape[i], `${out.name} dimension ${i}`).toBe(true);
      expect(out.data).toHaveLength(out.shape.reduce((a, b) => a * b, 1));
    }
    const twice = await call("/v2/models/mnist-mlp/infer", json({ ...one("FP32"), outputs: [{ name: "label" }, { name: "label" }] }));
    expect((await expectOipError(twice, 400)).pointer).toBe("/outputs/1/name");
  });

  it("should echo at most a short excerpt of a huge model name", async () => {
    const name = "m".repeat(10_000);
    for (const path of [`/v2/models/${name}/infer`, `/v1/models/${name}/predict`]) {
      const res = await call(path, json(one("FP32")));
      expect(res.status).toBe(404);
      const text = await res.text();
      expect(text.length, path).toBeLessThan(600);
    }
  });
});
