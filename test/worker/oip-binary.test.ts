// The Open Inference Protocol as tritonclient speaks it: the binary tensor
// data extension both ways, typed parameters, statistics and the model
// repository index. Requests are built, and binary answers read, by the
// client codec written from the specification (scripts/lib/oip-codec.ts).
// JSON answers go through `call`, which checks them against the protocol's
// schemas and /openapi.json; binary answers through `binaryCall`, which
// checks the JSON header against the same schemas and the documented status
// and Content-Type.
import Ajv from "ajv";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judge, toInit } from "../../scripts/lib/fuzz";
import { binaryInferRequests } from "../../scripts/lib/fuzz-binary";
import { type ClientInput, decodeResponse, encodeRequest, fromHalf, packTensor, toHalf } from "../../scripts/lib/oip-codec";
import { oipSchemas } from "../schemas/oip";
import { checkOip, openApiChecker } from "./conformance";
import { expectOipError, freshApp, gzip, imageBytes, json } from "./helpers";

const D = 784;
const ajv = new Ajv({ strict: true });
ajv.addSchema(oipSchemas);
const inferenceResponse = ajv.getSchema(`${oipSchemas.$id}#/definitions/inference_response`);

interface Answer {
  status: number;
  type: string;
  header: Record<string, unknown>;
  outputs: ReturnType<typeof decodeResponse>["outputs"];
}

/** freshApp with a `binaryCall` that reads and checks binary-form answers too. */
function binaryApp() {
  const fresh = freshApp();
  const checkOpenApi = openApiChecker((path, init) => fresh.app.request(`http://localhost${path}`, init));
  /** Sends a binary-form request; a 200 binary answer is decoded and checked, anything else goes through `call`'s checks. */
  const binaryCall = async (path: string, request: Parameters<typeof encodeRequest>[0], headers: Record<string, string> = {}): Promise<Answer> => {
    const { body, headerLength } = encodeRequest(request);
    const init = {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(headerLength), ...headers },
      body,
    };
    const res = await fresh.app.request(`http://localhost${path}`, init);
    const type = res.headers.get("content-type") ?? "";
    if (type !== "application/octet-stream") {
      // JSON (an answer without binary outputs, or an error): the checks `call` makes.
      const text = await res.text();
      const json = JSON.parse(text);
      const why = checkOip("POST", path, res.status, type, json) ?? (await checkOpenApi("POST", path, res.status, type, json));
      if (why) throw new Error(`non-conforming answer: ${why}`);
      const decoded = res.status === 200 ? decodeResponse(new TextEncoder().encode(text)) : { header: json, outputs: [] };
      return { status: res.status, type, ...decoded };
    }
    const why = await checkOpenApi("POST", path, res.status, type, undefined);
    if (why) throw new Error(`non-conforming answer: ${why}`);
    const length = Number(res.headers.get("inference-header-content-length"));
    const decoded = decodeResponse(new Uint8Array(await res.arrayBuffer()), length);
    // The extension: a binary output has binary_data_size and no data. With
    // its data put back, the header is an inference_response like any other.
    const outputs = (decoded.header.outputs as Record<string, unknown>[]).map((o, i) => {
      if (!decoded.outputs[i].binary) return o;
      expect(o.data, "a binary output has no data").toBeUndefined();
      return { ...o, data: decoded.outputs[i].values };
    });
    if (!inferenceResponse?.({ ...decoded.header, outputs }))
      throw new Error(`binary answer's header is not an inference_response: ${ajv.errorsText(inferenceResponse?.errors)}`);
    return { status: res.status, type, ...decoded };
  };
  return { ...fresh, binaryCall };
}

/** The values of `datatype` for pixel bytes: integers as they are, floats in [0, 1] as the datatype holds them. */
function valuesFor(datatype: string, px: Uint8Array): number[] {
  const all = Array.from(px);
  if (datatype === "FP16") return all.map((v) => fromHalf(toHalf(v / 255)));
  if (datatype === "FP32") return all.map((v) => Math.fround(v / 255));
  if (datatype === "FP64") return all.map((v) => v / 255);
  return datatype === "INT8" ? all.map((v) => Math.min(v, 127)) : all;
}

const input = (datatype: string, values: number[], shape: number[]): ClientInput => ({ name: "input", shape, datatype, bytes: packTensor(datatype, values) });

describe("POST /v2/models/{model}/infer (binary tensor data)", () => {
  const { call, binaryCall } = binaryApp();
  const n = 2;
  const px = imageBytes(n, 16);

  it("should list the extensions it serves", async () => {
    const meta = (await (await call("/v2")).json()) as { extensions: string[] };
    expect(meta.extensions).toEqual(["binary_tensor_data", "statistics", "model_repository"]);
  });

  it("should document the binary form and the extensions' routes in /openapi.json", async () => {
    type Operation = {
      parameters?: { name: string; in: string; required?: boolean }[];
      requestBody?: { required?: boolean; content: Record<string, unknown> };
      responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
    };
    const doc = (await (await call("/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
    for (const path of ["/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer"]) {
      const infer = doc.paths[path].post;
      expect(Object.keys(infer.requestBody?.content ?? {})).toEqual(["application/json", "application/octet-stream"]);
      expect(Object.keys(infer.responses["200"].content ?? {})).toEqual(["application/json", "application/octet-stream"]);
      // The header that makes a body the binary form, both ways; optional, as JSON requests go without it.
      expect(infer.parameters?.find((p) => p.in === "header")).toMatchObject({ name: "Inference-Header-Content-Length", required: false });
      expect(Object.keys(infer.responses["200"].headers ?? {})).toEqual(["Inference-Header-Content-Length"]);
    }
    const index = doc.paths["/v2/repository/index"].post;
    expect(index.requestBody).toMatchObject({ required: false, content: { "application/json": {} } });
    for (const path of [
      "/v2/models/stats",
      "/v2/models/{model}/stats",
      "/v2/models/{model}/versions/{version}/stats",
      "/v2/repository/index",
      "/v2/repository/models/{model}/load",
      "/v2/repository/models/{model}/unload",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
  });

  it("should answer every datatype and shape form as the same values sent as JSON", async () => {
    for (const datatype of ["FP16", "FP32", "FP64", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"]) {
      const values = valuesFor(datatype, px);
      const viaJson = (await (
        await call("/v2/models/mnist-mlp/infer", json({ inputs: [{ name: "input", shape: [n, D], datatype, data: values }] }))
      ).json()) as { outputs: { data: number[] }[] };
      for (const shape of [
        [n, D],
        [n, 28, 28],
        [n, 1, 28, 28],
      ]) {
        const answer = await binaryCall("/v2/models/mnist-mlp/infer", { inputs: [input(datatype, values, shape)] });
        expect(answer.status, `${datatype} [${shape}]`).toBe(200);
        expect(answer.type).toBe("application/json");
        expect(answer.outputs.map((o) => o.name)).toEqual(["probabilities", "label", "logits"]);
        expect(answer.outputs[1].values, `${datatype} [${shape}] labels`).toEqual(viaJson.outputs[1].data);
        answer.outputs[0].values.forEach((v, i) => {
          expect(Math.abs(v - viaJson.outputs[0].data[i]), `${datatype} probability ${i}`).toBeLessThan(1e-6);
        });
      }
    }
  });

  it("should send outputs back binary when asked, per output or for all", async () => {
    const values = valuesFor("FP32", px);
    const asJson = await binaryCall("/v2/models/mnist-mlp/infer", { id: "j", inputs: [input("FP32", values, [n, D])] });
    const want = Object.fromEntries(asJson.outputs.map((o) => [o.name, o.values]));
    const cases: [Record<string, unknown>, boolean[]][] = [
      [{ parameters: { binary_data_output: true } }, [true, true, true]],
      [{ outputs: [{ name: "label", parameters: { binary_data: true } }, { name: "logits" }] }, [true, false]],
      [
        { parameters: { binary_data_output: true }, outputs: [{ name: "probabilities", parameters: { binary_data: false } }, { name: "label" }] },
        [false, true],
      ],
      [{ outputs: [{ name: "logits", parameters: { binary_data: true } }] }, [true]],
    ];
    for (const [extra, binary] of cases) {
      const answer = await binaryCall("/v2/models/mnist-mlp/infer", { id: "b", inputs: [input("FP32", values, [n, D])], ...extra });
      expect(answer.status).toBe(200);
      expect(answer.type).toBe("application/octet-stream");
      expect(answer.header).toMatchObject({ model_name: "mnist-mlp", model_version: "1", id: "b" });
      expect(
        answer.outputs.map((o) => o.binary),
        JSON.stringify(extra),
      ).toEqual(binary);
      for (const o of answer.outputs) {
        expect(o.values, o.name).toEqual(o.name === "label" ? want.label : want[o.name].map((v) => Math.fround(v)));
        if (o.binary) expect(o.parameters?.binary_data_size).toBe(o.name === "label" ? n * 8 : n * 10 * 4);
      }
    }
  });

  it("should send binary outputs for a JSON request too", async () => {
    const data = valuesFor("FP32", px).slice(0, D);
    const res = await call(
      "/v2/models/mnist-book/infer",
      json({ inputs: [{ name: "input", shape: [1, D], datatype: "FP32", data }], outputs: [{ name: "label" }], parameters: { binary_data_output: false } }),
    );
    expect(res.headers.get("content-type")).toBe("application/json");
    const binary = await binaryCall("/v2/models/mnist-book/infer", {
      inputs: [{ name: "input", shape: [1, D], datatype: "FP32", data }],
      outputs: [{ name: "label", parameters: { binary_data: true } }],
    });
    expect(binary.type).toBe("application/octet-stream");
    expect(binary.outputs[0].values).toEqual(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0].data);
  });

  it("should read gzip'd binary bodies as plain ones", async () => {
    const request = { inputs: [input("UINT8", Array.from(px), [n, D])], parameters: { binary_data_output: true } };
    const plain = await binaryCall("/v2/models/mnist-mlp/infer", request);
    const { body, headerLength } = encodeRequest(request);
    const res = await freshApp().app.request("http://localhost/v2/models/mnist-mlp/infer", {
      method: "POST",
      headers: { "Content-Encoding": "gzip", "Inference-Header-Content-Length": String(headerLength) },
      body: await gzip(body),
    });
    expect(res.status).toBe(200);
    const zipped = decodeResponse(new Uint8Array(await res.arrayBuffer()), Number(res.headers.get("inference-header-content-length")));
    expect(zipped.outputs.map((o) => o.values)).toEqual(plain.outputs.map((o) => o.values));
    // And a gzip'd binary body with an error answers its 400 as a plain one would.
    const broken = encodeRequest({ inputs: [input("UINT8", Array.from(px), [n, D])] });
    const bad = await call("/v2/models/mnist-mlp/infer", {
      method: "POST",
      headers: { "Content-Encoding": "gzip", "Inference-Header-Content-Length": String(broken.headerLength + 1) },
      body: await gzip(broken.body),
    });
    expect((await expectOipError(bad, 400)).error).toMatch(/not a JSON inference request/);
  });

  it("should take a binary body with any Content-Type, or none", async () => {
    for (const type of [undefined, "application/json", "application/octet-stream", "text/plain"]) {
      const { body, headerLength } = encodeRequest({ inputs: [input("UINT8", Array.from(px), [n, D])] });
      const headers: Record<string, string> = { "Inference-Header-Content-Length": String(headerLength) };
      if (type) headers["Content-Type"] = type;
      expect((await call("/v2/models/mnist-mlp/infer", { method: "POST", headers, body })).status, String(type)).toBe(200);
    }
  });

  it("should refuse every malformed binary body with a 400 saying why", async () => {
    const good = encodeRequest({ inputs: [input("UINT8", Array.from(px), [n, D])] });
    const send = (body: Uint8Array, headerLength: string) =>
      call("/v2/models/mnist-mlp/infer", { method: "POST", headers: { "Inference-Header-Content-Length": headerLength }, body });
    const cases: [Promise<Response>, RegExp, string?][] = [
      [send(good.body, String(good.body.length + 1)), /body holds only/],
      [send(good.body, "x"), /not a byte count/],
      [send(good.body, "0"), /is 0/],
      [send(good.body, String(good.headerLength - 3)), /not a JSON inference request/],
      [send(good.body.subarray(0, good.body.length - 1), String(good.headerLength)), /add up to 1568 bytes, but only 1567/],
      [send(new Uint8Array([...good.body, 0, 0]), String(good.headerLength)), /^2 bytes follow the last input/],
    ];
    const encoded = (request: Parameters<typeof encodeRequest>[0]) => {
      const e = encodeRequest(request);
      return send(e.body, String(e.headerLength));
    };
    const values = Array.from(px);
    cases.push(
      [
        encoded({ inputs: [{ name: "input", shape: [n, D], datatype: "FP32", bytes: packTensor("UINT8", values) }] }),
        /1568 × 4 = 6272 bytes/,
        "/inputs/0/parameters/binary_data_size",
      ],
      [encoded({ inputs: [{ ...input("UINT8", values, [n, D]), data: values }] }), /both "data" and parameters.binary_data_size/, "/inputs/0/data"],
      [encoded({ inputs: [{ name: "input", shape: [n, D], datatype: "UINT8" }] }), /has no data/, "/inputs/0"],
      [encoded({ inputs: [{ name: "input", shape: [n, D], datatype: "BOOL", bytes: packTensor("BOOL", values) }] }), /not supported/, "/inputs/0/datatype"],
      [encoded({ inputs: [{ name: "input", shape: [n, D], datatype: "BYTES", bytes: new Uint8Array(8) }] }), /not supported/, "/inputs/0/datatype"],
      [
        encoded({ inputs: [input("FP32", [...new Array(999).fill(0), Number.NaN, ...new Array(n * D - 1000).fill(0)], [n, D])] }),
        /element 999 .*NaN/,
        "/inputs/0",
      ],
      [encoded({ inputs: [input("INT64", [...new Array(5).fill(0), -2, ...new Array(n * D - 6).fill(0)], [n, D])] }), /element 5 .*-2 is not/, "/inputs/0"],
      [encoded({ inputs: [input("UINT8", values, [n, D]), input("UINT8", values, [n, D])] }), /2 input tensors/, "/inputs"],
      [
        encoded({ inputs: [{ name: "input", shape: [n, D], datatype: "UINT8", parameters: { binary_data_size: -1 } }] }),
        /whole number ≥ 0/,
        "/inputs/0/parameters/binary_data_size",
      ],
      [encoded({ inputs: [input("UINT8", values, [n, D])], parameters: { binary_data_output: "yes" } }), /true or false/, "/parameters/binary_data_output"],
      [encoded({ inputs: [input("UINT8", values, [n, D])], parameters: { x: { nested: 1 } } }), /string, a number or a boolean/, "/parameters/x"],
    );
    for (const [res, message, pointer] of cases) {
      const body = await expectOipError(await res, 400);
      expect(body.error).toMatch(message);
      if (pointer) expect(body.pointer, String(message)).toBe(pointer);
    }
    // binary_data_size without the header: the body is not JSON at all, and the answer names the header.
    const noHeader = await call("/v2/models/mnist-mlp/infer", { method: "POST", body: good.body });
    expect((await expectOipError(noHeader, 400)).error).toMatch(/not valid JSON.*Inference-Header-Content-Length/);
    const json = encodeRequest({ inputs: [{ ...input("UINT8", values, [n, D]), bytes: undefined, parameters: { binary_data_size: n * D } }] });
    const sizeWithoutHeader = await call("/v2/models/mnist-mlp/infer", { method: "POST", body: json.body });
    expect((await expectOipError(sizeWithoutHeader, 400)).error).toMatch(/no Inference-Header-Content-Length/);
  });

  it("should refuse parameters that are objects, arrays or null in JSON requests too", async () => {
    const data = new Array(D).fill(0);
    for (const [parameters, pointer] of [
      [{ a: [] }, "/parameters/a"],
      [{ a: null }, "/parameters/a"],
    ] as const) {
      const res = await call("/v2/models/mnist-mlp/infer", json({ parameters, inputs: [{ name: "input", shape: [1, D], datatype: "FP32", data }] }));
      expect((await expectOipError(res, 400)).pointer).toBe(pointer);
    }
    const ok = await call(
      "/v2/models/mnist-mlp/infer",
      json({ parameters: { a: "x", b: 2, c: true }, inputs: [{ name: "input", shape: [1, D], datatype: "FP32", data }] }),
    );
    expect(ok.status).toBe(200);
  });

  it("should hold binary bodies to MAX_BODY_BYTES and MAX_BATCH", async () => {
    const { body, headerLength } = encodeRequest({ inputs: [input("FP32", valuesFor("FP32", px), [n, D])] });
    const headers = { "Inference-Header-Content-Length": String(headerLength) };
    await expectOipError(await call("/v2/models/mnist-mlp/infer", { method: "POST", headers, body }, { MAX_BODY_BYTES: "4096" }), 413);
    await expectOipError(await call("/v2/models/mnist-mlp/infer", { method: "POST", headers, body }, { MAX_BATCH: "1" }), 413);
  });
});

describe("GET /v2/models/{model}/stats", () => {
  it("should count this app's inferences per model, failures apart", async () => {
    const { call, binaryCall } = binaryApp();
    const before = (await (await call("/v2/models/mnist-mlp/stats")).json()) as { model_stats: { inference_count: number; last_inference: number }[] };
    expect(before.model_stats).toHaveLength(1);
    expect(before.model_stats[0]).toMatchObject({ inference_count: 0, last_inference: 0 });
    const px = Array.from(imageBytes(3, 2));
    expect((await binaryCall("/v2/models/mnist-mlp/infer", { inputs: [input("UINT8", px, [3, D])] })).status).toBe(200);
    expect((await binaryCall("/v2/models/mnist-mlp/versions/1/infer", { inputs: [input("UINT8", px.slice(0, D), [1, D])] })).status).toBe(200);
    expect((await binaryCall("/v2/models/mnist-mlp/infer", { inputs: [input("UINT16", [256, ...px.slice(1, D)], [1, D])] })).status).toBe(400);
    type Stat = {
      name: string;
      version: string;
      inference_count: number;
      execution_count: number;
      last_inference: number;
      inference_stats: Record<string, { count: number }>;
      batch_stats: { batch_size: number; compute_infer: { count: number } }[];
    };
    const after = ((await (await call("/v2/models/mnist-mlp/versions/1/stats")).json()) as { model_stats: Stat[] }).model_stats[0];
    expect(after).toMatchObject({ name: "mnist-mlp", version: "1", inference_count: 4, execution_count: 2 });
    expect(after.inference_stats.success.count).toBe(2);
    expect(after.inference_stats.fail.count).toBe(1);
    expect(after.last_inference).toBeGreaterThan(0);
    expect(after.batch_stats.map((b) => [b.batch_size, b.compute_infer.count])).toEqual([
      [1, 1],
      [3, 1],
    ]);
    const all = ((await (await call("/v2/models/stats")).json()) as { model_stats: Stat[] }).model_stats;
    expect(all.map((s) => s.name)).toContain("mnist-book");
    expect(all.find((s) => s.name === "mnist-book")?.inference_count).toBe(0);
    // Another app (another isolate) has its own counts.
    expect(((await (await freshApp().call("/v2/models/mnist-mlp/stats")).json()) as { model_stats: Stat[] }).model_stats[0].inference_count).toBe(0);
  });

  it("should answer 404 for an unknown model or version", async () => {
    const { call } = freshApp();
    await expectOipError(await call("/v2/models/nope/stats"), 404);
    await expectOipError(await call("/v2/models/mnist-mlp/versions/2/stats"), 404);
  });
});

describe("POST /v2/repository", () => {
  const { call } = freshApp();

  it("should index every model, READY, and the ready ones alone on request", async () => {
    const all = (await (await call("/v2/repository/index", { method: "POST" })).json()) as { name: string; version: string; state: string; reason: string }[];
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const e of all) expect(e).toMatchObject({ version: "1", state: "READY", reason: "" });
    const ready = await call("/v2/repository/index", json({ ready: true }));
    expect(await ready.json()).toEqual(all);
    await expectOipError(await call("/v2/repository/index", json({ ready: "yes" })), 400);
    await expectOipError(await call("/v2/repository/index", { method: "POST", body: "{" }), 400);
  });

  it("should index a model with broken weights as UNAVAILABLE, with the reason", async () => {
    const broken = new Uint8Array(16);
    const app = freshApp({ good: (await import("../../src/model/bundled")).BUNDLED["mnist-mlp"], bad: broken.buffer }, "good", undefined);
    const index = (await (await app.call("/v2/repository/index", { method: "POST" })).json()) as { name: string; state: string; reason: string }[];
    expect(index.find((e) => e.name === "good")?.state).toBe("READY");
    const bad = index.find((e) => e.name === "bad");
    expect(bad?.state).toBe("UNAVAILABLE");
    expect(bad?.reason.length).toBeGreaterThan(0);
    expect((await app.call("/v2/repository/index", json({ ready: true })).then((r) => r.json())) as unknown[]).toHaveLength(1);
  });

  it("should load a bundled model (warming it) and refuse to unload one", async () => {
    expect((await call("/v2/repository/models/mnist-mlp/load", { method: "POST" })).status).toBe(200);
    await expectOipError(await call("/v2/repository/models/nope/load", { method: "POST" }), 404);
    expect((await expectOipError(await call("/v2/repository/models/mnist-mlp/unload", { method: "POST" }), 400)).error).toMatch(/unload is not supported/);
  });
});

describe("random binary-form requests", () => {
  it("should never answer 5xx; every 4xx is {error}, every binary answer decodes", async () => {
    const { app } = freshApp();
    const statuses = new Set<number>();
    const types = new Set<string>();
    await fc.assert(
      fc.asyncProperty(binaryInferRequests(), async (req) => {
        const res = await app.request(`http://localhost${req.path}`, toInit(req));
        statuses.add(res.status);
        const type = res.headers.get("content-type") ?? "";
        types.add(type);
        if (res.status === 200 && type === "application/octet-stream") {
          const length = Number(res.headers.get("inference-header-content-length"));
          expect(decodeResponse(new Uint8Array(await res.arrayBuffer()), length).outputs.some((o) => o.binary)).toBe(true);
          return;
        }
        expect(await judge(req, res), `${req.path} ${JSON.stringify(req.headers)}`).toBeUndefined();
      }),
      { numRuns: 300, seed: 20261216 },
    );
    for (const s of [200, 400, 404]) expect(statuses).toContain(s);
    expect(types).toContain("application/octet-stream");
  });
});
