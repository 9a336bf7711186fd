import { describe, expect, it } from "vitest";
import { encodeModel } from "../../src/model/format";
import { expectProblem, freshApp, imageBytes, json, toRows } from "./helpers";

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
    await expectProblem(await call("/v2/models/nope/ready"), 404);
    await expectProblem(await call("/v2/models/mnist-mlp/versions/7/ready"), 404);
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
    ]);
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
    const native = (await (await call("/v1/predict", json({ inputs: rows }))).json()) as { predictions: { label: number; probabilities: number[] }[] };
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
      [[{ name: "input", shape: [n, 784], datatype: "FP64", data: rows.flat() }], "/inputs/0/datatype", /FP64/],
      [[{ name: "input", shape: [n, 700], datatype: "FP32", data: rows.flat() }], "/inputs/0/shape", /shape/],
      [[{ name: "input", shape: [n, 784], datatype: "FP32", data: rows.flat().slice(1) }], "/inputs/0/data", /values but shape/],
      [[{ name: "input", shape: [1, 784], datatype: "UINT8", data: [...new Array(783).fill(0), 256] }], "/inputs/0/data/783", /UINT8/],
      [[{ name: "input", shape: [1, 784], datatype: "FP32", data: [...new Array(10).fill(0), "x", ...new Array(773).fill(0)] }], "/inputs/0/data/10", /FP32/],
    ];
    for (const [inputs, pointer, message] of cases) {
      const body = await expectProblem(await call("/v2/models/mnist-mlp/infer", infer(inputs)), 400);
      expect(body.pointer).toBe(pointer);
      expect(body.error).toMatch(message);
    }
    const unknownOut = await expectProblem(
      await call(
        "/v2/models/mnist-mlp/infer",
        infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }], { outputs: [{ name: "embedding" }] }),
      ),
      400,
    );
    expect(unknownOut.pointer).toBe("/outputs/0/name");
    await expectProblem(await call("/v2/models/mnist-mlp/infer", json({ inputs: [] })), 400);
    await expectProblem(await call("/v2/models/nope/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }])), 404);
    await expectProblem(
      await call("/v2/models/mnist-mlp/versions/2/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }])),
      404,
    );
    await expectProblem(await call("/v2/models/mnist-mlp/infer", { method: "GET" }), 405);
  });

  it("should read a body without Content-Type as JSON, and refuse binary tensor data", async () => {
    // Bytes, not a string: a string body would get a text/plain Content-Type.
    const body = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }] }));
    expect((await call("/v2/models/mnist-mlp/infer", { method: "POST", body })).status).toBe(200);
    const binary = await call("/v2/models/mnist-mlp/infer", { method: "POST", headers: { "Inference-Header-Content-Length": String(body.length) }, body });
    expect((await expectProblem(binary, 400)).detail).toMatch(/binary tensor data extension/);
  });

  it("should take [N, 1, 28, 28] and refuse shapes that are not a batch of images", async () => {
    const data = new Array(784).fill(0);
    expect((await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [1, 1, 28, 28], datatype: "FP32", data }]))).status).toBe(200);
    for (const shape of [[0, 784], [2, 392, 2], [784], [1, 2, 28, 14]]) {
      const res = await call(
        "/v2/models/mnist-mlp/infer",
        infer([{ name: "input", shape, datatype: "FP32", data: shape[0] === 2 ? [...data, ...data] : data }]),
      );
      const problem = await expectProblem(res, 400);
      expect(problem.pointer).toBe("/inputs/0/shape");
      expect(problem.detail).toMatch(/\[N, 784\]/);
    }
  });

  it("should name the model's own input size in shape errors", async () => {
    const layer = { W: new Float32Array(4 * 3).fill(0.1), b: new Float32Array(3), inSize: 4, outSize: 3, activation: "softmax" as const };
    const bytes = encodeModel({ layers: [layer] }, { inputShape: [2, 2], labels: ["a", "b", "c"] });
    const tiny = freshApp({ tiny: bytes.slice().buffer }, "tiny");
    const res = await tiny.call("/v2/models/tiny/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }]));
    expect((await expectProblem(res, 400)).detail).toMatch(/\[N, 4\] or \[N, 2, 2\]/);
    const ok = await tiny.call("/v2/models/tiny/infer", infer([{ name: "input", shape: [1, 2, 2], datatype: "FP32", data: [0, 1, 0.5, 0] }]));
    expect(ok.status).toBe(200);
  });

  it("should return the declared outputs for an empty outputs list", async () => {
    const body = (await (
      await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }], { outputs: [] }))
    ).json()) as InferResponse;
    expect(body.outputs.map((o) => o.name)).toEqual(["probabilities", "label"]);
  });

  it("should apply the batch limit", async () => {
    const res = await call("/v2/models/mnist-mlp/infer", infer([{ name: "input", shape: [4, 784], datatype: "FP32", data: rows.flat() }]), { MAX_BATCH: "2" });
    await expectProblem(res, 413);
  });
});
