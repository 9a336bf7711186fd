import { describe, expect, it } from "vitest";
import { bookNetwork } from "../../test/helpers";
import type { Backend } from "../nn/backend";
import { JsBackend } from "../nn/backends";
import { forward } from "../nn/network";
import { createWasmBackend } from "../nn/wasm";
import type { Network } from "../nn/network";
import { decodeModel, encodeModel } from "./format";
import { dequantizeI8, quantizeI8 } from "./int8";
import { readSafetensorsHeader, SafetensorsError, serializeSafetensors, type TensorToWrite } from "./safetensors";

function layers(sizes: number[]): TensorToWrite[] {
  return sizes.slice(1).flatMap((M, i) => [
    { name: `layers.${i}.weight`, shape: [sizes[i], M], data: new Float32Array(sizes[i] * M).fill(0.01) },
    { name: `layers.${i}.bias`, shape: [M], data: new Float32Array(M) },
  ]);
}
const meta = { activations: "relu,softmax", labels: JSON.stringify(["a", "b", "c"]), input_shape: "2,2", input_scale: "255" };

function rejects(tensors: TensorToWrite[], metadata: Record<string, string>, message: RegExp): void {
  const bytes = serializeSafetensors(tensors, metadata);
  expect(() => decodeModel(bytes)).toThrow(SafetensorsError);
  expect(() => decodeModel(bytes)).toThrow(message);
}

describe("weights contract", () => {
  it("should round-trip the book network with its metadata", () => {
    const net = bookNetwork(5);
    const model = decodeModel(encodeModel(net, { extra: { command: "npm run train -- --model x" } }));
    expect([model.sizes, model.activations]).toEqual([
      [784, 50, 100, 10],
      ["sigmoid", "sigmoid", "softmax"],
    ]);
    expect(model.labels).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(model.inputShape).toEqual([28, 28]);
    expect(model.inputScale).toBe(255);
    expect(model.metadata.command).toBe("npm run train -- --model x");
    // F32 weights come back exactly as written.
    expect(model.network.toNetwork().layers.map((l) => [...l.W, ...l.b])).toEqual(net.layers.map((l) => [...l.W, ...l.b]));
  });

  it("should keep predictions within half precision when stored as F16", () => {
    const net = bookNetwork(6);
    const model = decodeModel(encodeModel(net, { dtype: "F16" }));
    expect(model.dtype).toBe("F16");
    const x = new Float32Array(784).fill(0.3);
    const a = model.network.forward(x, 1);
    const b = forward(net, x, 1);
    a.forEach((v, i) => {
      expect(Math.abs(v - b[i])).toBeLessThan(2e-3);
    });
  });

  it("should accept a valid small model", () => {
    expect(decodeModel(serializeSafetensors(layers([4, 5, 3]), meta)).labels).toEqual(["a", "b", "c"]);
  });

  it("should refuse a file without layers", () => rejects([], meta, /layers\.0\.weight/));
  it("should refuse tensors outside the contract", () =>
    rejects([...layers([4, 5, 3]), { name: "extra", shape: [1], data: new Float32Array(1) }], meta, /"extra" is not part of the contract/));
  it("should refuse a missing bias", () =>
    rejects(
      layers([4, 5, 3]).filter((t) => t.name !== "layers.1.bias"),
      meta,
      /"layers.1.bias" is missing/,
    ));
  it("should refuse a missing activations key", () => rejects(layers([4, 5, 3]), { ...meta, activations: "" }, /"activations" is missing/));
  it("should refuse the wrong number of activations", () => rejects(layers([4, 5, 3]), { ...meta, activations: "relu" }, /1 activations for 2 layers/));
  it("should refuse an unknown activation", () => rejects(layers([4, 5, 3]), { ...meta, activations: "relu,tanh" }, /layer 1: unknown activation "tanh"/));
  it("should refuse layers whose shapes do not chain", () => {
    const t = layers([4, 5, 3]);
    t[2] = { name: "layers.1.weight", shape: [6, 3], data: new Float32Array(18) };
    rejects(t, meta, /"layers.1.weight" takes 6 inputs but layer 0 gives 5/);
  });
  it("should refuse a bias of the wrong size", () => {
    const t = layers([4, 5, 3]);
    t[1] = { name: "layers.0.bias", shape: [4], data: new Float32Array(4) };
    rejects(t, meta, /"layers.0.bias" has shape \[4\]; expected \[5\]/);
  });
  it("should refuse a non-2-D weight", () => {
    const t = layers([4, 5, 3]);
    t[0] = { name: "layers.0.weight", shape: [20], data: new Float32Array(20) };
    rejects(t, meta, /"layers.0.weight" has shape \[20\]/);
  });
  it("should refuse non-finite values and say where", () => {
    const t = layers([4, 5, 3]);
    t[2].data[7] = Number.NaN;
    rejects(t, meta, /"layers.1.weight" holds a non-finite value \(NaN\) at index 7/);
  });
  // Written as F16 (the bundled dtype), Infinity and NaN are bit patterns the
  // F16 conversion itself must catch, in every backend.
  const backends: [string, () => Backend | undefined][] = [
    ["JS", () => new JsBackend()],
    ["Wasm SIMD", () => createWasmBackend(false)],
    ["Wasm relaxed SIMD", () => createWasmBackend(true)],
  ];
  for (const [name, create] of backends) {
    it.skipIf(!create())(`should refuse a non-finite F16 value and say where (${name} backend)`, () => {
      for (const [at, value, shown] of [
        [7, Number.POSITIVE_INFINITY, "Infinity"],
        [0, Number.NaN, "NaN"],
        [14, Number.NEGATIVE_INFINITY, "-Infinity"],
      ] as const) {
        const t = layers([4, 5, 3]).map((x) => ({ ...x, dtype: "F16" as const }));
        t[2].data[at] = value;
        const bytes = serializeSafetensors(t, meta);
        expect(() => decodeModel(bytes, create())).toThrow(SafetensorsError);
        expect(() => decodeModel(bytes, create())).toThrow(`tensor "layers.1.weight" holds a non-finite value (${shown}) at index ${at}`);
      }
      // A value too large for F16 is written as Infinity, so it is refused too.
      const big = layers([4, 5, 3]).map((x) => ({ ...x, dtype: "F16" as const }));
      big[1].data[2] = 1e6;
      expect(() => decodeModel(serializeSafetensors(big, meta), create())).toThrow(/"layers.0.bias" holds a non-finite value \(Infinity\) at index 2/);
    });
  }
  it("should refuse labels that do not match the classes", () =>
    rejects(layers([4, 5, 3]), { ...meta, labels: '["a"]' }, /names 1 classes but the last layer gives 3/));
  it("should refuse labels that are not a JSON array of strings", () => rejects(layers([4, 5, 3]), { ...meta, labels: "a,b,c" }, /JSON array of strings/));
  it("should refuse an input shape that does not fit the first layer", () => rejects(layers([4, 5, 3]), { ...meta, input_shape: "3,3" }, /"input_shape" 3,3/));
  it("should refuse a non-positive input scale", () => rejects(layers([4, 5, 3]), { ...meta, input_scale: "0" }, /"input_scale" must be a positive number/));

  describe("I8 weights", () => {
    // W (3, 3) = [[127, -63.5, 0], [-3.4, 2, 0], [0.5, 0.2, 0]]: column maxima 127, 63.5 and 0 give scales 1, 0.5 and 0;
    // q = round(w / scale), halves away from zero; a zero column stays q = 0 with scale 0.
    const W = new Float32Array([127, -63.5, 0, -3.4, 2, 0, 0.5, 0.2, 0]);
    const net: Network = { layers: [{ W, b: new Float32Array([0.1, -0.2, 0.3]), inSize: 3, outSize: 3, activation: "softmax" }] };
    const encoded = () => encodeModel(net, { dtype: "I8", labels: ["a", "b", "c"], inputShape: [3] });
    /** The file's tensors, in its order, with one replaced (or removed, when `t` is undefined). */
    const edited = (name: string, t?: Partial<TensorToWrite>): TensorToWrite[] => {
      const { q, scale } = quantizeI8(W, 3, "column");
      const tensors: TensorToWrite[] = [
        { name: "layers.0.weight_scale", shape: [3], data: scale },
        { name: "layers.0.bias", shape: [3], data: net.layers[0].b },
        { name: "layers.0.weight", shape: [3, 3], data: q, dtype: "I8" },
      ];
      expect(serializeSafetensors(tensors, readSafetensorsHeader(encoded()).metadata)).toEqual(encoded());
      return tensors.flatMap((x) => (x.name !== name ? [x] : t ? [{ ...x, ...t }] : []));
    };
    const fileMeta = () => readSafetensorsHeader(encoded()).metadata;

    it("should quantise by hand-computed scales and decode q × scale exactly", () => {
      expect(quantizeI8(W, 3, "column")).toEqual({ q: Int8Array.from([127, -127, 0, -3, 4, 0, 1, 0, 0]), scale: Float32Array.from([1, 0.5, 0]) });
      const header = readSafetensorsHeader(encoded());
      expect(header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
        ["layers.0.weight_scale", "F32", [3]],
        ["layers.0.bias", "F32", [3]],
        ["layers.0.weight", "I8", [3, 3]],
      ]);
      const model = decodeModel(encoded());
      expect([model.dtype, model.parameters, model.sizes]).toEqual(["I8", 12, [3, 3]]);
      const back = model.network.toNetwork().layers[0];
      expect([...back.W]).toEqual([127, -63.5, 0, -3, 2, 0, 1, 0, 0]);
      expect(Object.is(back.W[8], 0)).toBe(true); // the zero column: exact (positive) zeros
      expect([...back.b]).toEqual([...net.layers[0].b]); // biases stay F32
    });

    it("should scale a convolution per filter", () => {
      const w = new Float32Array([1, -2, 0.5, 0.25, 4, 2, -1, 0]); // 2 filters of 1 × 2 × 2: maxima 2 and 4
      expect(quantizeI8(w, 2, "filter")).toEqual({
        q: Int8Array.from([64, -127, 32, 16, 127, 64, -32, 0]),
        scale: Float32Array.from([2 / 127, 4 / 127]),
      });
      expect([...dequantizeI8(Int8Array.from([1, -2, 3, 4]), Float32Array.from([0.5, 0.25]), "filter")]).toEqual([0.5, -1, 0.75, 1]);
      expect([...dequantizeI8(Int8Array.from([1, -2, 3, 4]), Float32Array.from([0.5, 0.25]), "column")]).toEqual([0.5, -0.5, 1.5, 1]);
    });

    it("should dequantise as fround(q · scale), one scale per filter or per column", () => {
      const q = Int8Array.from([1, -2, 3, 127]);
      const scale = Float32Array.from([0.1, 1 / 3]);
      for (const axis of ["filter", "column"] as const) {
        const s = (i: number) => scale[axis === "filter" ? i >> 1 : i & 1];
        expect([...dequantizeI8(q, scale, axis)]).toEqual([...q].map((v, i) => Math.fround(v * s(i))));
      }
    });

    it("should refuse a missing scale, one of the wrong shape or dtype, and one beside a weight that is not I8", () => {
      rejects(
        edited("layers.0.weight_scale"),
        fileMeta(),
        /tensor "layers.0.weight_scale" is missing: the I8 weight "layers.0.weight" needs one F32 scale per output column, shape \[3\]; re-encode/,
      );
      rejects(
        edited("layers.0.weight_scale", { shape: [2], data: new Float32Array(2) }),
        fileMeta(),
        /"layers.0.weight_scale" is F32 \[2\]; "layers.0.weight" needs F32 \[3\]/,
      );
      rejects(edited("layers.0.weight_scale", { dtype: "F16" }), fileMeta(), /"layers.0.weight_scale" is F16 \[3\]; "layers.0.weight" needs F32 \[3\]/);
      rejects(
        edited("layers.0.weight", { data: new Float32Array(9), dtype: "F32" }),
        fileMeta(),
        /"layers.0.weight_scale" belongs only beside an I8 weight, but "layers.0.weight" is F32/,
      );
    });

    it("should refuse a scale that is not finite, or negative, naming the tensor and index", () => {
      for (const [at, value, shown, kind] of [
        [1, Number.NaN, "NaN", "non-finite"],
        [2, Number.POSITIVE_INFINITY, "Infinity", "non-finite"],
        [0, -0.5, "-0.5", "negative"],
      ] as const) {
        const data = Float32Array.from([1, 0.5, 0]);
        data[at] = value;
        rejects(
          edited("layers.0.weight_scale", { data }),
          fileMeta(),
          new RegExp(`tensor "layers.0.weight_scale" holds a ${kind} value \\(${shown}\\) at index ${at}; scales are finite and 0 or more`),
        );
      }
    });

    it("should write the I8 file a writer that sees non-finite weights must: one decode refuses", () => {
      const bad: Network = { layers: [{ ...net.layers[0], W: W.map((v, i) => (i === 4 ? Number.NaN : v)) }] };
      expect(() => decodeModel(encodeModel(bad, { dtype: "I8", labels: ["a", "b", "c"], inputShape: [3] }))).toThrow(
        /"layers.0.weight_scale" holds a non-finite value \(NaN\) at index 1/,
      );
    });
  });

  describe("convolutions", () => {
    const conv = (extra: Record<string, string> = {}, w0 = [2, 1, 3, 3]): [TensorToWrite[], Record<string, string>] => [
      [
        { name: "layers.0.weight", shape: w0, data: new Float32Array(w0.reduce((a, b) => a * b, 1)).fill(0.1) },
        { name: "layers.0.bias", shape: [w0[0]], data: new Float32Array(w0[0]) },
        // 4 × 4 input, pad 1, 3 × 3 kernel: 4 × 4 out, pooled to 2 × 2, so 2 × 2 × 2 = 8 inputs.
        { name: "layers.1.weight", shape: [8, 3], data: new Float32Array(24).fill(0.01) },
        { name: "layers.1.bias", shape: [3], data: new Float32Array(3) },
      ],
      { ...meta, input_shape: "1,4,4", layers: '[{"type":"conv","pad":1,"pool":2},{"type":"dense","scale":0.5}]', ...extra },
    ];

    it("should read a convolution's shape from the header: sizes after pooling, stride and pad defaults, the input scale", () => {
      const model = decodeModel(serializeSafetensors(...conv()));
      expect(model.sizes).toEqual([16, 8, 3]);
      expect(model.inputShape).toEqual([1, 4, 4]);
      expect(model.layers).toEqual([{ conv: { C: 1, IH: 4, IW: 4, F: 2, KH: 3, KW: 3, stride: 1, pad: 1 }, pool: 2 }, { scale: 0.5 }]);
    });

    it("should round-trip a convolutional network through encodeModel", () => {
      const model = decodeModel(serializeSafetensors(...conv()));
      const again = decodeModel(encodeModel(model.network.toNetwork(), { labels: ["a", "b", "c"] }));
      expect([again.sizes, again.layers, again.inputShape]).toEqual([model.sizes, model.layers, model.inputShape]);
      const x = new Float32Array(16).map((_, i) => i / 16);
      expect([...again.network.forward(x, 1)]).toEqual([...model.network.forward(x, 1)]);
    });

    it("should refuse layers that do not chain, and metadata that does not fit", () => {
      rejects(...conv({ layers: '[{"type":"conv","pad":0,"pool":2},{"type":"dense"}]' }), /"layers.1.weight" takes 8 inputs but layer 0 gives 2/);
      rejects(...conv({ input_shape: "16" }), /input_shape" must give channels, height and width/);
      rejects(...conv({ layers: '[{"type":"dense"},{"type":"dense"}]' }), /a weight is 2-D/);
      rejects(...conv({ layers: '[{"type":"conv","pool":2},{"type":"dense","pool":2}]' }), /"layers"\[1\] has "pool"; a dense layer takes type, scale/);
      rejects(...conv({ layers: '[{"type":"conv","stride":0},{"type":"dense"}]' }), /stride must be a whole number ≥ 1/);
      rejects(...conv({ layers: '[{"type":"conv"}]' }), /a JSON array of 2 objects/);
      rejects(...conv({}, [2, 3, 3, 3]), /takes 3 channels but its input has 1/);
    });
  });
});
