import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { bookNetwork } from "../../test/helpers";
import { JsBackend } from "../nn/backends";
import { WasmBackend } from "../nn/wasm";
import { encodeModel } from "./format";
import { ModelRegistry, ModelUnavailableError, sha256Hex } from "./registry";

// A full collection on demand: V8's gc() made reachable without starting
// Node with --expose-gc.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const file = readFileSync("weights/mnist-mlp.safetensors");
const bytes = () => file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;

/** Wasm memory (and any other memory held outside the JS heap) after a full collection. */
async function external(): Promise<number> {
  // WeakRef targets live until the current job ends: let it end first.
  await new Promise((r) => setTimeout(r, 0));
  gc();
  return process.memoryUsage().external;
}

describe("ModelRegistry memory", () => {
  it("should give each registry a backend of its own", async () => {
    const [a, b] = [new ModelRegistry({ m: bytes() }, "m"), new ModelRegistry({ m: bytes() }, "m")];
    expect(a.backend).not.toBe(b.backend);
    const [ma, mb] = [await a.model("m"), await b.model("m")];
    expect(ma.network).not.toBe(mb.network);
    // Asking again decodes nothing more: the registry keeps its model.
    expect(await a.model("m")).toBe(ma);
  });

  // The measure is process.memoryUsage().external after a full collection,
  // which counts Wasm memory (the heap outside V8's): each registry decodes
  // mnist-mlp into its own backend's memory (about 2.4 MB). Dropped
  // registries must give it back, so 50 of them stay within the memory of
  // 10 backends; 20 kept ones, the control, show the measure sees a leak.
  it.skipIf(!(new ModelRegistry({}, "m").backend instanceof WasmBackend))(
    "should keep memory bounded across 50 decodes through fresh registries that are dropped",
    async () => {
      const perBackend = await (async () => {
        const r = new ModelRegistry({ m: bytes() }, "m");
        await r.model("m");
        return (r.backend as WasmBackend).memoryBytes;
      })();
      expect(perBackend).toBeGreaterThan(file.byteLength); // int8 or F16 weights decoded to F32 take two to four times the file
      const before = await external();
      const backends: WeakRef<object>[] = [];
      for (let i = 0; i < 50; i++) {
        const r = new ModelRegistry({ m: bytes() }, "m");
        await r.model("m");
        backends.push(new WeakRef(r.backend));
        if (i % 10 === 9) await external();
      }
      const grown = (await external()) - before;
      expect(grown, `external memory grew by ${grown} bytes over 50 registries of ${perBackend} bytes each`).toBeLessThan(10 * perBackend);
      expect(backends.filter((w) => w.deref() !== undefined).length, "backends still alive after a full collection").toBeLessThanOrEqual(1);

      const kept: ModelRegistry[] = [];
      const base = await external();
      for (let i = 0; i < 20; i++) {
        kept.push(new ModelRegistry({ m: bytes() }, "m"));
        await kept[i].model("m");
      }
      expect((await external()) - base).toBeGreaterThanOrEqual(19 * perBackend);
    },
  );
});

describe("ModelRegistry calls fail when the weights are broken", () => {
  const good = encodeModel(bookNetwork(3));
  const digest = (b: Uint8Array) => sha256Hex(b.slice().buffer);

  it("should decode and describe a model whose digest matches, timing the check and the decode once", async () => {
    const registry = new ModelRegistry({ m: good.slice().buffer }, "m", { m: await digest(good) }, new JsBackend());
    const spans: string[] = [];
    const model = await registry.model("m", (span) => spans.push(span));
    expect(spans).toEqual(["verify", "decode"]);
    expect((await registry.spec("m")).sizes).toEqual([784, 50, 100, 10]);
    expect(model.network.forward(new Float32Array(784), 1)).toHaveLength(10);
    await registry.model("m", (span) => spans.push(span));
    expect(spans).toEqual(["verify", "decode"]);
  });

  it("should refuse, from model() and spec() alike, weights whose digest does not match (the header still parses)", async () => {
    const flipped = good.slice();
    flipped[flipped.length - 3] ^= 1;
    const registry = new ModelRegistry({ m: flipped.buffer }, "m", { m: await digest(good) });
    await expect(registry.model("m")).rejects.toThrow(ModelUnavailableError);
    await expect(registry.spec("m")).rejects.toThrow(/not the [0-9a-f]{64} the bundle's manifest records/);
    const card = await registry.card("m");
    expect([card.available, card.decoded, card.architecture.layers]).toEqual([false, false, []]);
    expect(registry.failures().map((f) => f.name)).toEqual(["m"]);
  });

  it("should refuse a model missing from the manifest, and one whose values do not decode", async () => {
    const nan = encodeModel(
      { layers: [{ W: new Float32Array([Number.NaN]), b: new Float32Array(1), inSize: 1, outSize: 1, activation: "identity" }] },
      { inputShape: [1], labels: ["x"] },
    );
    const registry = new ModelRegistry({ m: good.slice().buffer, bad: nan.slice().buffer }, "m", { bad: await digest(nan) });
    await expect(registry.model("m")).rejects.toThrow(/not in the bundle's manifest/);
    // The header is fine, so the spec serves; the values are not, so the model does not.
    expect((await registry.spec("bad")).sizes).toEqual([1, 1]);
    await expect(registry.model("bad")).rejects.toThrow(/"layers.0.weight" holds a non-finite value \(NaN\) at index 0/);
    expect((await registry.card("bad")).available).toBe(false);
  });
});
