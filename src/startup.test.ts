// warmUp (src/startup.ts): what an isolate runs as it starts leaves the
// backend as a fresh one for the models it then decodes.
//
//   npx vitest run --project node src/startup.test.ts
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeModel } from "./model/format";
import { createWasmBackend } from "./nn/wasm";
import { rng } from "./nn/random";
import { warmUp } from "./startup";

describe("warmUp", () => {
  it("should leave a Wasm backend that decodes and runs a bundled model exactly as a fresh one does", () => {
    const [warmed, fresh] = [createWasmBackend(), createWasmBackend()];
    if (!warmed || !fresh) throw new Error("no Wasm kernel in Node: run npm run build:wasm");
    warmUp({ backend: warmed });
    const bytes = new Uint8Array(readFileSync(new URL("../weights/mnist-book.safetensors", import.meta.url)));
    const rand = rng(5);
    const x = Float32Array.from({ length: 7 * 784 }, () => (rand() < 0.5 ? 0 : rand()));
    const [a, b] = [decodeModel(bytes, warmed).network, decodeModel(bytes, fresh).network];
    const y = a.forward(x, 7);
    expect([...y]).toEqual([...b.forward(x, 7)]);
    expect(y.every(Number.isFinite)).toBe(true);
    // Bytes, as binary and picture bodies send them: the integer first layer.
    const pixels = Uint8Array.from(x, (v) => Math.round(v * 255));
    expect([...a.forwardPixels(pixels, 7, 255)]).toEqual([...b.forwardPixels(pixels, 7, 255)]);
  });
});
