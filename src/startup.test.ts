// warmUp (src/startup.ts): what an isolate runs as it starts, held to what
// it stands in for.
//
//   npx vitest run --project node src/startup.test.ts
import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel } from "./model/format";
import { createWasmBackend } from "./nn/wasm";
import { warmModel, warmUp } from "./startup";

describe("warmUp", () => {
  it("should decode the one-weight model encodeModel writes, byte for byte", () => {
    const encoded = encodeModel(
      { layers: [{ W: new Float32Array(1), b: new Float32Array(1), inSize: 1, outSize: 1, activation: "identity" }] },
      { dtype: "I8", labels: ["warm"], inputShape: [1] },
    );
    expect([...warmModel()]).toEqual([...encoded]);
  });

  it("should leave a Wasm backend that decodes and runs a model as a fresh one does", () => {
    const backend = createWasmBackend();
    if (!backend) throw new Error("no Wasm kernel in Node: run npm run build:wasm");
    warmUp({ backend });
    const model = decodeModel(warmModel(), backend);
    expect(model.dtype).toBe("I8");
    expect([...model.network.forward(new Float32Array([0.5]), 1, { softmax: false })]).toEqual([0]);
  });
});
