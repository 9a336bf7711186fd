// The runtime digest check: each model's bytes are checked against the
// bundled weights/manifest.json once per isolate, before the model first
// serves. One flipped byte in a weight (the header still parses, the weights
// still decode) makes that model unavailable everywhere while the others serve.
import { describe, expect, it } from "vitest";
import { BUNDLED } from "../../src/model/bundled";
import { MODELS } from "../../src/model/catalog";
import { BUNDLED_DIGESTS } from "../../src/model/integrity";
import type { ModelCard } from "../../src/model/registry";
import { expectOipError, expectProblem, freshApp, imageBytes, json, toRows } from "./helpers";

const input = toRows(imageBytes(1, 9), 1)[0];
const tensor = { inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: input }] };

/** The bundle with one bit of mnist-book's last weight flipped. */
function flipped(): Record<string, ArrayBuffer> {
  const bytes = new Uint8Array(BUNDLED["mnist-book"].byteLength);
  bytes.set(new Uint8Array(BUNDLED["mnist-book"]));
  bytes[bytes.length - 3] ^= 0x01;
  return { ...BUNDLED, "mnist-book": bytes.buffer };
}

describe("the weights digest check", () => {
  it("should bundle exactly the catalog's models and record each in the manifest the Worker carries", () => {
    expect(Object.keys(BUNDLED).sort()).toEqual(Object.keys(MODELS).sort());
    expect(Object.keys(BUNDLED_DIGESTS).sort()).toEqual(Object.keys(BUNDLED).sort());
    for (const d of Object.values(BUNDLED_DIGESTS)) expect(d).toMatch(/^[0-9a-f]{64}$/);
  });

  it("should serve intact weights and time the check once, on first use", async () => {
    const { call } = freshApp();
    const first = await call("/v1/models/mnist-book/predict", json({ input }));
    expect(first.status).toBe(200);
    const timing = first.headers.get("server-timing") ?? "";
    const ms = Number(/verify;dur=([\d.]+)/.exec(timing)?.[1]);
    expect(ms).toBeGreaterThanOrEqual(0);
    console.log(`digest check of mnist-book (${BUNDLED["mnist-book"].byteLength} bytes) on first use: ${ms.toFixed(2)} ms`);
    const second = await call("/v1/models/mnist-book/predict", json({ input }));
    expect(second.headers.get("server-timing")).not.toMatch(/verify/);
  });

  it("should make a model with one flipped byte unavailable everywhere, without Retry-After, while the others serve", async () => {
    const { call } = freshApp(flipped(), "mnist-mlp", BUNDLED_DIGESTS);
    const predict = await call("/v1/models/mnist-book/predict", json({ input }));
    expect(predict.headers.get("retry-after")).toBeNull();
    expect((await expectProblem(predict, 503)).detail).toMatch(/sha256 [0-9a-f]{64}, not the [0-9a-f]{64}.*deploy it again/);
    const infer = await call("/v2/models/mnist-book/infer", json(tensor));
    expect(infer.headers.get("retry-after")).toBeNull();
    await expectOipError(infer, 503);
    expect((await expectOipError(await call("/v2/models/mnist-book/ready"), 503)).ready).toBe(false);
    expect((await expectOipError(await call("/v2/models/mnist-book/versions/1/ready"), 503)).ready).toBe(false);
    expect((await expectOipError(await call("/v2/health/ready"), 503)).error).toMatch(/mnist-book/);
    await expectOipError(await call("/v2/models/mnist-book"), 503);

    const card = (await (await call("/v1/models/mnist-book")).json()) as ModelCard;
    expect(card.available).toBe(false);
    expect(card.error).toMatch(/manifest records|not the/);
    expect(card.sha256).not.toBe(BUNDLED_DIGESTS["mnist-book"]);

    expect((await call("/v1/predict", json({ input }))).status).toBe(200);
    expect((await call("/v2/models/fashion-mlp/ready")).status).toBe(200);
  });

  it("should check a model the manifest does not list as broken", async () => {
    const { call } = freshApp({ ...BUNDLED, extra: BUNDLED["mnist-book"] }, "mnist-mlp", BUNDLED_DIGESTS);
    expect((await expectProblem(await call("/v1/models/extra/predict", json({ input })), 503)).detail).toMatch(/not in the bundle's manifest/);
  });
});
