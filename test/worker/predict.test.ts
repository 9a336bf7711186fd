import { DEFAULT_MODEL, MODEL_NAMES } from "../../src/model/catalog";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeIdxImages } from "../../src/data/idx";
import { decodeModel } from "../../src/model/format";
import { BUNDLED } from "../../src/model/bundled";
import { forwardNaive } from "../reference";
import { binary, expectOipError, expectProblem, freshApp, gzip, imageBytes, json, present, toRows } from "./helpers";

interface Pred {
  label: number;
  name: string;
  probability?: number;
  top?: { label: number; name: string; probability: number }[];
  probabilities?: number[];
  logits?: number[];
}

/** The same weights through the slow reference kernel, for comparison. */
function reference(model: string, bytes: Uint8Array, n: number, output: "probabilities" | "logits" = "probabilities"): Float32Array {
  const net = decodeModel(BUNDLED[model]).network.toNetwork();
  const x = new Float32Array(bytes.length).map((_, i) => bytes[i] / 255);
  return forwardNaive(net, x, n, { softmax: output === "probabilities" });
}

describe("POST /v1/predict", () => {
  it("should classify one image with the default model", async () => {
    const { call } = freshApp();
    const img = imageBytes(1, 3);
    const res = await call("/v1/predict", json({ input: toRows(img, 1)[0] }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Pred & { model: string };
    expect(body.model).toBe(DEFAULT_MODEL);
    const ref = reference(DEFAULT_MODEL, img, 1);
    const probabilities = present(body.probabilities);
    expect(probabilities).toHaveLength(10);
    probabilities.forEach((p, i) => {
      expect(Math.abs(p - ref[i])).toBeLessThan(1e-5);
    });
    expect(body.label).toBe(ref.indexOf(Math.max(...ref)));
    expect(body.name).toBe(String(body.label));
    expect(body.probability).toBe(body.probabilities?.[body.label]);
    expect(body.top?.map((t) => t.label)[0]).toBe(body.label);
    expect(body.top).toHaveLength(3);
    expect(body.probabilities?.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("should accept 28 rows of 28, and raw bytes with scale 255", async () => {
    const { call } = freshApp();
    const img = imageBytes(1, 4);
    const flat = toRows(img, 1)[0];
    const nested = Array.from({ length: 28 }, (_, r) => flat.slice(r * 28, r * 28 + 28));
    const a = (await (await call("/v1/predict", json({ input: flat }))).json()) as Pred;
    const b = (await (await call("/v1/predict", json({ input: nested }))).json()) as Pred;
    const c = (await (await call("/v1/predict", json({ input: Array.from(img), scale: 255 }))).json()) as Pred;
    expect(b.probabilities).toEqual(a.probabilities);
    const want = present(a.probabilities);
    expect(present(c.probabilities)).toHaveLength(want.length);
    present(c.probabilities).forEach((p, i) => {
      expect(Math.abs(p - want[i])).toBeLessThan(1e-6);
    });
  });

  it("should honour top_k and output=logits|label", async () => {
    const { call } = freshApp();
    const input = toRows(imageBytes(1, 5), 1)[0];
    const top5 = (await (await call("/v1/predict", json({ input, top_k: 5 }))).json()) as Pred;
    expect(top5.top).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(top5.top?.[i - 1].probability).toBeGreaterThanOrEqual(top5.top?.[i].probability ?? 1);
    const logits = (await (await call("/v1/predict", json({ input, output: "logits" }))).json()) as Pred;
    const ref = reference(DEFAULT_MODEL, imageBytes(1, 5), 1, "logits");
    expect(present(logits.logits)).toHaveLength(10);
    present(logits.logits).forEach((v, i) => {
      expect(Math.abs(v - ref[i])).toBeLessThan(1e-4);
    });
    expect(logits.probabilities).toBeUndefined();
    const label = (await (await call("/v1/predict", json({ input, output: "label" }))).json()) as Pred;
    expect(label).toEqual({ model: DEFAULT_MODEL, label: top5.label, name: top5.name });
  });

  it("should answer a batch row by row as the reference does", async () => {
    const { call } = freshApp();
    const n = 37;
    const bytes = imageBytes(n, 6);
    const res = await call("/v1/models/mnist-book/predict", json({ inputs: toRows(bytes, n) }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; predictions: Pred[] };
    expect(body.model).toBe("mnist-book");
    expect(body.predictions).toHaveLength(n);
    const ref = reference("mnist-book", bytes, n);
    body.predictions.forEach((p, i) => {
      expect(present(p.probabilities)).toHaveLength(10);
      present(p.probabilities).forEach((v, j) => {
        expect(Math.abs(v - ref[i * 10 + j])).toBeLessThan(1e-5);
      });
    });
  });

  it("should name Fashion-MNIST classes", async () => {
    const { call } = freshApp();
    const body = (await (await call("/v1/models/fashion-mlp/predict", json({ input: toRows(imageBytes(1, 8), 1)[0] }))).json()) as Pred;
    expect(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]).toContain(body.name);
  });

  it("should take raw N×784 bytes, an IDX3 file, and a gzip'd IDX3 file", async () => {
    const { call } = freshApp();
    const n = 25;
    const bytes = imageBytes(n, 9);
    const ref = reference(DEFAULT_MODEL, bytes, n);
    const want = Array.from({ length: n }, (_, i) => {
      const row = Array.from(ref.subarray(i * 10, i * 10 + 10));
      return row.indexOf(Math.max(...row));
    });
    const idx = encodeIdxImages(bytes, n);
    for (const [body, headers] of [
      [bytes, {}],
      [idx, {}],
      [await gzip(idx), { "Content-Encoding": "gzip" }],
    ] as const) {
      const res = await call("/v1/predict?output=label", binary(body, headers));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ model: DEFAULT_MODEL, labels: want });
    }
    const full = (await (await call("/v1/predict?top_k=2", binary(bytes))).json()) as { predictions: Pred[] };
    expect(full.predictions.map((p) => p.label)).toEqual(want);
    expect(full.predictions[0].top).toHaveLength(2);
  });

  it("should not mistake raw pixels that start like gzip (0x1f 0x8b) for a gzip body", async () => {
    const { call } = freshApp();
    const bytes = imageBytes(2, 10);
    bytes[0] = 0x1f;
    bytes[1] = 0x8b;
    for (const headers of [{}, { "Content-Encoding": "identity" }] as Record<string, string>[]) {
      const res = await call("/v1/predict?output=label", binary(bytes, headers));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { labels: number[] }).labels).toHaveLength(2);
    }
    // Undeclared gzip is still recognised.
    const res = await call("/v1/predict?output=label", binary(await gzip(imageBytes(3, 11))));
    expect(((await res.json()) as { labels: number[] }).labels).toHaveLength(3);
  });

  it("should read a body sent without a Content-Type as raw pixels, gzip'd or not", async () => {
    const { call } = freshApp();
    const bytes = imageBytes(3, 12);
    for (const body of [bytes, await gzip(bytes)]) {
      const res = await call("/v1/predict?output=label", { method: "POST", body });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { labels: number[] }).labels).toHaveLength(3);
    }
  });

  it("should serve through the Worker's own fetch handler", async () => {
    const res = await (exports as unknown as { default: Fetcher }).default.fetch(
      new Request("http://localhost/v1/predict", json({ input: new Array(784).fill(0) })),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as Pred).probabilities).toHaveLength(10);
  });
});

describe("bad input on POST /v1/predict", () => {
  const { call } = freshApp();
  const good = new Array(784).fill(0);

  it("should answer malformed JSON with 400", async () => {
    const res = await call("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"input": [1, 2' });
    expect((await expectProblem(res, 400)).detail).toMatch(/not valid JSON/);
  });

  it("should point at a wrong-length image", async () => {
    const body = await expectProblem(await call("/v1/predict", json({ inputs: [good, good.slice(1)] })), 400);
    expect(body.pointer).toBe("/inputs/1");
    expect(body.detail).toMatch(/783 elements/);
  });

  it("should point at a non-number", async () => {
    const input = [...good];
    input[5] = "7";
    const body = await expectProblem(await call("/v1/predict", json({ input })), 400);
    expect(body.pointer).toBe("/input/5");
  });

  it("should point at a non-number in the first place", async () => {
    for (const first of ["7", null, {}]) {
      const body = await expectProblem(await call("/v1/predict", json({ input: [first, ...good.slice(1)] })), 400);
      expect(body.pointer).toBe("/input/0");
    }
  });

  it("should point at the first value out of range", async () => {
    const inputs = [good, good, good, [...good]];
    inputs[3][17] = 1.5;
    inputs[3][20] = -1;
    const body = await expectProblem(await call("/v1/predict", json({ inputs })), 400);
    expect(body.pointer).toBe("/inputs/3/17");
    expect(body.detail).toMatch(/scale/);
  });

  it("should point into a bad row of a 28×28 image", async () => {
    const nested = Array.from({ length: 28 }, () => new Array(28).fill(0));
    nested[4][9] = 300;
    const body = await expectProblem(await call("/v1/predict", json({ input: nested, scale: 255 })), 400);
    expect(body.pointer).toBe("/input/4/9");
  });

  it("should refuse both or neither of input and inputs, and unknown fields", async () => {
    await expectProblem(await call("/v1/predict", json({ input: good, inputs: [good] })), 400);
    await expectProblem(await call("/v1/predict", json({})), 400);
    expect((await expectProblem(await call("/v1/predict", json({ input: good, topk: 3 })), 400)).detail).toMatch(/unknown field "topk"/);
    expect((await expectProblem(await call("/v1/predict", json({ input: good, output: "all" })), 400)).pointer).toBe("/output");
    await expectProblem(await call("/v1/predict", json({ inputs: [] })), 400);
  });

  it("should refuse a binary body that is not whole images", async () => {
    expect((await expectProblem(await call("/v1/predict", binary(new Uint8Array(785))), 400)).detail).toMatch(/multiple of 784/);
    await expectProblem(await call("/v1/predict", binary(new Uint8Array(0))), 400);
    const idx = encodeIdxImages(new Uint8Array(784), 2); // header says 2, holds 1
    expect((await expectProblem(await call("/v1/predict", binary(idx)), 400)).detail).toMatch(/header says 2 images/);
    await expectProblem(await call("/v1/predict", binary(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), { "Content-Encoding": "gzip" })), 400);
    await expectProblem(await call("/v1/predict", binary(new Uint8Array(784), { "Content-Encoding": "br" })), 415);
  });

  it("should answer 404 listing the models for an unknown model", async () => {
    const body = await expectProblem(await call("/v1/models/mnist-huge/predict", json({ input: good })), 404);
    expect(body.models).toEqual(MODEL_NAMES);
  });

  it("should answer 405 with Allow for a wrong method", async () => {
    const res = await call("/v1/predict", { method: "GET" });
    await expectProblem(res, 405);
    expect(res.headers.get("Allow")).toBe("POST");
    const del = await call("/v1/models/mnist-mlp", { method: "DELETE" });
    await expectProblem(del, 405);
    expect(del.headers.get("Allow")).toContain("GET");
  });

  it("should answer 415 for other content types", async () => {
    await expectProblem(await call("/v1/predict", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "1,2,3" }), 415);
  });

  it("should answer 413 past the body limit, JSON or binary", async () => {
    const env = { MAX_BODY_BYTES: "5000" };
    const big = await expectProblem(await call("/v1/predict", json({ inputs: [good, good, good, good] }), env), 413);
    expect(big.limit).toBe(5000);
    await expectProblem(await call("/v1/predict", binary(new Uint8Array(784 * 7)), env), 413);
    // A small gzip body that inflates past the limit is refused too.
    await expectProblem(await call("/v1/predict", binary(await gzip(new Uint8Array(784 * 100)), { "Content-Encoding": "gzip" }), env), 413);
  });

  it("should answer 413 past the batch limit", async () => {
    const env = { MAX_BATCH: "3" };
    expect((await expectProblem(await call("/v1/predict", json({ inputs: [good, good, good, good] }), env), 413)).detail).toMatch(/limit is 3/);
    await expectProblem(await call("/v1/predict", binary(new Uint8Array(784 * 4)), env), 413);
    expect((await call("/v1/predict", binary(new Uint8Array(784 * 3)), env)).status).toBe(200);
  });
});

describe("hostile or unusual bodies", () => {
  const { call } = freshApp();
  const deep = `${"[".repeat(200_000)}0${"]".repeat(200_000)}`;
  const zeros = new Array(783).fill(0).join(",");

  it("should answer 400, not 500, to pixels nested 200000 deep", async () => {
    const native = await call("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: `{"input":[${deep},${zeros}]}` });
    expect((await expectProblem(native, 400)).pointer).toBe("/input");
    const oip = await call("/v2/models/mnist-book/infer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":${deep}}]}`,
    });
    expect((await expectOipError(oip, 400)).error).toMatch(/where shape \[1,784\] has 784/);
  });

  it("should not echo a huge bad value back", async () => {
    const input: unknown[] = new Array(784).fill(0);
    input[3] = "x".repeat(100_000);
    const body = await expectProblem(await call("/v1/predict", json({ input })), 400);
    expect(String(body.detail).length).toBeLessThan(200);
  });

  it("should keep any positive scale finite", async () => {
    const a = (await (await call("/v1/predict", json({ input: new Array(784).fill(1e-310), scale: 1e-310 }))).json()) as Pred;
    const b = (await (await call("/v1/predict", json({ input: new Array(784).fill(1) }))).json()) as Pred;
    expect(a.probabilities).toEqual(b.probabilities);
  });

  it("should inflate gzip'd JSON and refuse other encodings", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ input: new Array(784).fill(0) }));
    const ok = await call("/v1/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" },
      body: await gzip(body),
    });
    expect(ok.status).toBe(200);
    await expectProblem(await call("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "br" }, body }), 415);
    await expectProblem(await call("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, body }), 400);
  });

  it("should take raw pixels that begin like an IDX header as pixels", async () => {
    const bytes = imageBytes(2, 13);
    bytes.set([0, 0, 8, 3], 0);
    const res = await call("/v1/predict?output=label", binary(bytes));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { labels: number[] }).labels).toHaveLength(2);
  });

  it("should apply query options to JSON bodies unless the body sets them", async () => {
    const input = new Array(784).fill(0);
    expect(Object.keys((await (await call("/v1/predict?output=label", json({ input }))).json()) as object)).toEqual(["model", "label", "name"]);
    const top = (await (await call("/v1/predict?top_k=1", json({ input, top_k: 4 }))).json()) as Pred;
    expect(top.top).toHaveLength(4);
  });
});

describe("gzip bodies", () => {
  const { call } = freshApp();
  const px = imageBytes(2, 31);

  /** Two gzip members, concatenated (RFC 1952 §2.2). */
  async function twoMembers(bytes: Uint8Array): Promise<Uint8Array> {
    const [a, b] = await Promise.all([gzip(bytes.subarray(0, 1000)), gzip(bytes.subarray(1000))]);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  it("should accept a multi-member gzip body, declared or not, as the same images", async () => {
    const plain = (await (await call("/v1/predict?output=label", binary(px))).json()) as { labels: number[] };
    const body = await twoMembers(px);
    const declared = await call("/v1/predict?output=label", binary(body, { "Content-Encoding": "gzip" }));
    expect(declared.status).toBe(200);
    expect(((await declared.json()) as { labels: number[] }).labels).toEqual(plain.labels);
    const sniffed = await call("/v1/predict?output=label", binary(body));
    expect(((await sniffed.json()) as { labels: number[] }).labels).toEqual(plain.labels);
    const jsonBody = await twoMembers(new TextEncoder().encode(JSON.stringify({ input: Array.from(px.subarray(0, 784)), scale: 255 })));
    expect(
      (await call("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, body: jsonBody })).status,
    ).toBe(200);
  });

  it("should report a corrupt gzip body as a gzip error, not a pixel count", async () => {
    const z = await gzip(px);
    const truncated = z.subarray(0, z.length - 20);
    const declared = await expectProblem(await call("/v1/predict", binary(truncated, { "Content-Encoding": "gzip" })), 400);
    expect(declared.detail).toMatch(/gzip body is corrupt/);
    const sniffed = await expectProblem(await call("/v1/predict", binary(truncated)), 400);
    expect(sniffed.detail).toMatch(/starts like gzip.*does not inflate/);
    expect(sniffed.detail).not.toMatch(/not a multiple/);
  });
});

describe("GET /openapi.json", () => {
  const { call } = freshApp();
  type Op = {
    requestBody?: { required?: boolean; content: Record<string, { example?: unknown; schema?: { $ref?: string } }> };
    responses: Record<string, unknown>;
  };

  it("should say what each route does: required bodies, exactly one of input or inputs, every error status, examples", async () => {
    const doc = (await (await call("/openapi.json")).json()) as {
      paths: Record<string, Record<string, Op>>;
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    for (const path of ["/v1/predict", "/v1/models/{model}/predict"]) {
      const op = doc.paths[path].post;
      expect(op.requestBody?.required, path).toBe(true);
      for (const s of ["400", "401", "404", "405", "413", "415", "429", "503"]) expect(Object.keys(op.responses), path).toContain(s);
    }
    expect(doc.components.schemas.PredictRequest.oneOf).toEqual([{ required: ["input"] }, { required: ["inputs"] }]);
    expect(doc.components.schemas.PredictRequest.example).toBeTruthy();
    for (const path of ["/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer"]) {
      const op = doc.paths[path].post;
      expect(op.requestBody?.required, path).toBe(true);
      for (const s of ["400", "404", "405", "413", "415", "503"]) expect(Object.keys(op.responses), path).toContain(s);
    }
    // Swagger UI's "Try it out" sends the example: it must be a request the service answers.
    const example = doc.components.schemas.OipInferRequest.example;
    expect((await call("/v2/models/mnist-mlp/infer", json(example))).status).toBe(200);
    expect((await call("/v1/predict", json(doc.components.schemas.PredictRequest.example))).status).toBe(200);
  });
});
