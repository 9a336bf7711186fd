// The typed client: its types come from the app, and it talks to the real app.
import { describe, expect, expectTypeOf, it } from "vitest";
import { encode as encodePng } from "fast-png";
import { ApiError, createClient, type PredictResponse, type ReadDigit, type ReadResponse } from "../../src/client";
import { encodeIdxImages } from "../../src/data/idx";
import { DIGITS, draw } from "../fixtures/drawn";
import { freshApp, imageBytes } from "./helpers";

describe("typed client (hono/client)", () => {
  const { app } = freshApp();
  const api = createClient("http://localhost", { fetch: (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init) });

  it("should predict with typed request and answer", async () => {
    const res = await api.v1.predict.$post({ json: { input: new Array(784).fill(0), top_k: 2 }, query: {} });
    if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
    const body = await res.json();
    expectTypeOf(body.model).toEqualTypeOf<string>();
    expectTypeOf(body.label).toEqualTypeOf<number | undefined>();
    expect(body.top).toHaveLength(2);
  });

  it("should list models with typed cards", async () => {
    const res = await api.v1.models.$get();
    const body = await res.json();
    expectTypeOf(body.models[0].test_accuracy).toEqualTypeOf<number | null>();
    expect(body.models.length).toBeGreaterThan(0);
  });

  it("should type the Open Inference Protocol routes", async () => {
    const res = await api.v2.models[":model"].infer.$post({
      param: { model: "mnist-book" },
      json: { inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }] },
    });
    if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
    const body = await res.json();
    expectTypeOf(body.model_name).toEqualTypeOf<string>();
    expect(body.outputs.map((o) => o.name)).toEqual(["probabilities", "label", "logits"]);
  });

  it("should send pixels and IDX files as octet-stream with typed answers", async () => {
    const pixels = imageBytes(3, 5);
    const res = await api.predictPixels(pixels, { model: "mnist-book", top_k: 1 });
    expectTypeOf(res).toEqualTypeOf<PredictResponse>();
    const want = await (
      await app.request("/v1/models/mnist-book/predict?top_k=1", { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: pixels })
    ).json();
    expect(res).toEqual(want);
    expect(res.predictions).toHaveLength(3);
    const idx = await api.predictPixels(encodeIdxImages(pixels, 3), { model: "mnist-book", output: "label" });
    expect(idx).toEqual({ model: "mnist-book", labels: res.predictions?.map((p) => p.label) });
  });

  it("should throw ApiError carrying the problem for a bad body or an unknown model", async () => {
    const bad = await api.predictPixels(new Uint8Array(100)).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect((bad as ApiError).status).toBe(400);
    expect((bad as ApiError).problem.detail).toMatch(/784/);
    const unknown = await api.predictPixels(new Uint8Array(784), { model: "nope" }).catch((e: unknown) => e);
    expect((unknown as ApiError).status).toBe(404);
    expect((unknown as ApiError).message).toMatch(/^404 /);
  });

  it("should read a number with readImage and several with readImages, typed", async () => {
    // "71": a 7 and a 1 side by side.
    const [seven, one] = [draw(DIGITS["7"], 100, 120), draw(DIGITS["1"], 100, 120)];
    const data = new Uint8Array(240 * 160).fill(255);
    for (let y = 0; y < 120; y++)
      for (let x = 0; x < 100; x++) {
        data[(20 + y) * 240 + 10 + x] = seven.data[y * 100 + x];
        data[(20 + y) * 240 + 130 + x] = one.data[y * 100 + x];
      }
    const png = encodePng({ width: 240, height: 160, data, channels: 1, depth: 8 });
    const res = await api.readImage(png, { model: "mnist-book", top_k: 2 });
    expectTypeOf(res).toEqualTypeOf<ReadResponse>();
    expectTypeOf(res.digits).toEqualTypeOf<ReadDigit[] | undefined>();
    expect(res.model).toBe("mnist-book");
    expect(res.text).toBe("71");
    expect(res.digits?.map((d) => d.top.length)).toEqual([2, 2]);
    expect(res.digits?.[1].box[0]).toBeGreaterThanOrEqual(128);
    const both = await api.readImages([png, new Blob([png], { type: "image/png" })]);
    expect(both.readings?.map((r) => r.text)).toEqual(["71", "71"]);
    const blank = await api
      .readImage(encodePng({ width: 50, height: 50, data: new Uint8Array(2500).fill(255), channels: 1, depth: 8 }))
      .catch((e: unknown) => e);
    expect((blank as ApiError).status).toBe(422);
  });
});
