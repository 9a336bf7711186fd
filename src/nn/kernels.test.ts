// One suite for every implementation of the dense layer and the forward pass:
// the naive reference itself (held to hand-computed cases), the JS kernel,
// and the Wasm kernel in plain and relaxed SIMD (W as given, and packed as
// the dense layers hold it). Each must agree with
// affineNaive, each integer first layer (affineI8) with affineI8Naive bit for bit, and each backend's forward pass with forwardNaive (which
// shares no code with src/nn); a kernel the runtime lacks is skipped with
// the reason.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DatasetName, DATASET_DIRS, datasetPresent, loadSplit, skipWithoutData } from "../../test/fixtures/datasets";
import { expectClose } from "../../test/helpers";
import { forwardNaive, softmaxNaive } from "../../test/reference";
import { MODELS } from "../model/catalog";
import { f16ToF32 } from "../model/f16";
import { decodeModel, encodeModel } from "../model/format";
import { dequantizeI8 } from "../model/int8";
import { type HeaderEntry, readSafetensorsHeader, tensorBytes } from "../model/safetensors";
import { affine, affineI8, affineI8Naive, affineNaive } from "./affine";
import { type Backend, loadNetwork } from "./backend";
import { type ConvShape, conv, convNaive, convOutput, maxPool, maxPoolNaive } from "./conv";
import { JsBackend } from "./backends";
import { type Activation, argmax, relu, sigmoid, step } from "./functions";
import { type Network, pixelsToInput } from "./network";
import { rng } from "./random";
import { createWasmBackend } from "./wasm";
import { type KernelProbe, kernelProbes } from "./wasm/testing";

type Affine = typeof affineNaive;

const { simd, relaxed } = kernelProbes();
const missing = (k: unknown, what: string) => (k ? undefined : `this runtime has no ${what}`);

const KERNELS: { name: string; affine?: Affine; skip?: string }[] = [
  { name: "affineNaive", affine: affineNaive },
  { name: "affine (JS)", affine },
  { name: "Wasm SIMD", affine: simd && ((...a) => simd.affine(...a)), skip: missing(simd, "Wasm kernel") },
  { name: "Wasm relaxed SIMD", affine: relaxed && ((...a) => relaxed.affine(...a)), skip: missing(relaxed, "relaxed SIMD") },
  { name: "Wasm SIMD, W packed", affine: simd && ((...a) => simd.affinePacked(...a)), skip: missing(simd, "Wasm kernel") },
  { name: "Wasm relaxed SIMD, W packed", affine: relaxed && ((...a) => relaxed.affinePacked(...a)), skip: missing(relaxed, "relaxed SIMD") },
];

type AffineI8 = typeof affineI8Naive;

const I8_KERNELS: { name: string; affineI8?: AffineI8; skip?: string }[] = [
  { name: "affineI8Naive", affineI8: affineI8Naive },
  { name: "affineI8 (JS)", affineI8 },
  { name: "Wasm SIMD affineI8", affineI8: simd && ((...a) => simd.affineI8(...a)), skip: missing(simd, "Wasm kernel") },
  { name: "Wasm relaxed SIMD affineI8", affineI8: relaxed && ((...a) => relaxed.affineI8(...a)), skip: missing(relaxed, "relaxed SIMD") },
];

type Conv = typeof convNaive;
type Pool = typeof maxPoolNaive;
const CONV_KERNELS: { name: string; conv?: Conv; pool?: Pool; skip?: string }[] = [
  { name: "convNaive and maxPoolNaive", conv: convNaive, pool: maxPoolNaive },
  { name: "conv and maxPool (JS)", conv, pool: maxPool },
  {
    name: "Wasm SIMD conv and maxPool",
    conv: simd && ((...a) => simd.conv(...a)),
    pool: simd && ((...a) => simd.maxPool(...a)),
    skip: missing(simd, "Wasm kernel"),
  },
  {
    name: "Wasm relaxed SIMD conv and maxPool",
    conv: relaxed && ((...a) => relaxed.conv(...a)),
    pool: relaxed && ((...a) => relaxed.maxPool(...a)),
    skip: missing(relaxed, "relaxed SIMD"),
  },
];

// Whole forward passes, each backend a new one of its own; the reference is forwardNaive.
const BACKENDS: { name: string; create?: () => Backend; skip?: string }[] = [
  { name: "JS backend", create: () => new JsBackend() },
  { name: "Wasm SIMD backend", create: simd && (() => createWasmBackend(false) as Backend), skip: missing(simd, "Wasm kernel") },
  { name: "Wasm relaxed SIMD backend", create: relaxed && (() => createWasmBackend(true) as Backend), skip: missing(relaxed, "relaxed SIMD") },
];

/** n seeded values in [-1, 1), a fraction `zeros` of them 0. */
function random(n: number, seed: number, zeros = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < zeros ? 0 : u * 2 - 1;
  }
  return out;
}

function network(sizes: number[], activations: Activation[], seed: number): Network {
  return {
    layers: activations.map((activation, i) => ({
      W: random(sizes[i] * sizes[i + 1], seed + 2 * i).map((v) => v * 0.3),
      b: random(sizes[i + 1], seed + 2 * i + 1).map((v) => v * 0.1),
      inSize: sizes[i],
      outSize: sizes[i + 1],
      activation,
    })),
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

for (const k of KERNELS) {
  describe.skipIf(k.skip)(`${k.name}${k.skip ? ` (skipped: ${k.skip})` : ""}`, () => {
    const kernel = k.affine as Affine;

    it("should compute products worked out by hand", () => {
      // [1 2 3; 4 5 6]·[1 0; 0 1; 1 1] + [0.5 -1]
      const W = new Float32Array([1, 0, 0, 1, 1, 1]);
      expect([...kernel(new Float32Array(4), new Float32Array([1, 2, 3, 4, 5, 6]), W, new Float32Array([0.5, -1]), 2, 3, 2)]).toEqual([4.5, 4, 10.5, 10]);
      // Zeros and negatives in x, one row, M = 5: [0 -2 0 1]·W + b
      const W2 = new Float32Array([9, 9, 9, 9, 9, 1, -1, 2, 0, 0.5, 7, 7, 7, 7, 7, -3, 0, 1, 4, -2]);
      const b2 = new Float32Array([0, 1, 0, -1, 0.25]);
      expect([...kernel(new Float32Array(5), new Float32Array([0, -2, 0, 1]), W2, b2, 1, 4, 5)]).toEqual([-5, 3, -3, 3, -2.75]);
      // All-zero inputs give the bias.
      expect([...kernel(new Float32Array(3), new Float32Array(7), random(21, 1), new Float32Array([1, -2, 3]), 1, 7, 3)]).toEqual([1, -2, 3]);
    });

    it("should agree on the bundled shapes and awkward ones (K, M not multiples of 4 or 16, N = 1)", () => {
      for (const [N, K, M] of [
        [1, 784, 50],
        [1, 784, 500],
        [33, 500, 250],
        [7, 50, 100],
        [100, 100, 10],
        [13, 5, 3],
        [1, 1, 1],
        [3, 17, 33],
        [2, 31, 47],
        [5, 250, 10],
        [0, 784, 10],
      ]) {
        const x = random(N * K, N + K, 0.6);
        const W = random(K * M, K * M);
        const b = random(M, M);
        expectClose(kernel(new Float32Array(N * M), x, W, b, N, K, M), affineNaive(new Float32Array(N * M), x, W, b, N, K, M));
      }
    });

    it("should agree for random shapes and sparsity", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 70 }),
          fc.double({ min: 0, max: 1 }),
          fc.integer(),
          (N, K, M, zeros, seed) => {
            const x = random(N * K, seed, zeros);
            const W = random(K * M, seed + 1);
            const b = random(M, seed + 2);
            expectClose(kernel(new Float32Array(N * M), x, W, b, N, K, M), affineNaive(new Float32Array(N * M), x, W, b, N, K, M));
          },
        ),
      );
    });

    it("should agree on batches of two-row tiles with ragged tails and every width of last output block, where the rows' non-zero inputs differ", () => {
      // Each row non-zero in its own band of inputs (so a tile's list is the union of two
      // different lists), one row all zeros, one dense; N leaves 0 or 1 row after the tiles
      // and spans one to three groups of sixteen pairs (W packed),
      // M leaves 0, 1-4, 5-8 or 9-15 outputs after the blocks of sixteen, and a lone row
      // ends in a block of four to seven vectors or in one of eight that runs past M.
      for (const [N, K, M] of [
        [4, 784, 50],
        [5, 100, 10],
        [6, 50, 100],
        [7, 37, 13],
        [9, 17, 33],
        [12, 3, 1],
        [3, 20, 24],
        [5, 9, 7],
        [4, 33, 16],
        [3, 20, 30],
        [37, 30, 40],
        [69, 9, 70],
      ]) {
        const x = random(N * K, N * K, 0.3);
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) {
            const band = Math.floor((k * 4) / K);
            if (n % 4 !== band && n % 5 !== 4) x[n * K + k] = 0;
          }
        }
        x.fill(0, 2 * K, 3 * K);
        const W = random(K * M, K + M);
        const b = random(M, M + 1);
        expectClose(kernel(new Float32Array(N * M), x, W, b, N, K, M), affineNaive(new Float32Array(N * M), x, W, b, N, K, M));
      }
    });

    it("should overwrite, not accumulate into, a dirty output buffer", () => {
      const out = new Float32Array(6).fill(99);
      const x = random(2 * 4, 3);
      const W = random(4 * 3, 4);
      const b = random(3, 5);
      expectClose(kernel(out, x, W, b, 2, 4, 3), affineNaive(new Float32Array(6), x, W, b, 2, 4, 3));
    });
  });
}

/** Seeded pixels (N, K), a fraction `zeros` of them 0, the rest 1-255, and weights q (K, M) over the whole int8 range with their column scales and biases. */
function int8Case(N: number, K: number, M: number, seed: number, zeros: number) {
  const r = rng(seed);
  const pixels = Uint8Array.from({ length: N * K }, () => (r() < zeros ? 0 : 1 + Math.floor(r() * 255)));
  const q = Int8Array.from({ length: K * M }, () => Math.floor(r() * 256) - 128);
  const s = Float32Array.from({ length: M }, () => r() * 0.02);
  const b = Float32Array.from({ length: M }, () => r() - 0.5);
  return { pixels, q, s, b };
}

const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

for (const k of I8_KERNELS) {
  describe.skipIf(k.skip)(`${k.name}${k.skip ? ` (skipped: ${k.skip})` : ""}`, () => {
    const kernel = k.affineI8 as AffineI8;

    it("should compute integer products worked out by hand", () => {
      // Scale 1 and scales 1: b + Σ p·q exactly. [3 0 255]·[2; -7; 127] = 6 + 32385; the second row is all zeros.
      const one = new Float32Array([1]);
      expect([
        ...kernel(new Float32Array(2), new Uint8Array([3, 0, 255, 0, 0, 0]), new Int8Array([2, -7, 127]), one, new Float32Array([0.5]), 2, 3, 1, 1),
      ]).toEqual([32391.5, 0.5]);
      // Scales [2 4] over pixel scale 4 halve and keep: [1 2]·[[10 -3]; [-128 5]] = [-246 7], times [0.5 1], plus [0 -1].
      expect([
        ...kernel(
          new Float32Array(2),
          new Uint8Array([1, 2]),
          new Int8Array([10, -3, -128, 5]),
          new Float32Array([2, 4]),
          new Float32Array([0, -1]),
          1,
          2,
          2,
          4,
        ),
      ]).toEqual([-123, 6]);
      // The largest sum there is, 784 inputs of 255 against -127: -25 389 840, an even number below 2^25, so a float32 exactly (no i16 or f32 running sum holds it).
      const K = 784;
      expect([...kernel(new Float32Array(1), new Uint8Array(K).fill(255), new Int8Array(K).fill(-127), one, new Float32Array(1), 1, K, 1, 1)]).toEqual([
        -25389840,
      ]);
      // And the scaling, one float32 step at a time: 1 + 509·fround(0.5 / 255), row [255 2] against [[1]; [127]].
      const f = Math.fround;
      expect([
        ...kernel(new Float32Array(1), new Uint8Array([255, 2]), new Int8Array([1, 127]), new Float32Array([0.5]), new Float32Array([1]), 1, 2, 1, 255),
      ]).toEqual([f(1 + f(509 * f(0.5 / 255)))]);
    });

    it("should give affineI8Naive's bits on the bundled shapes and awkward ones (K odd, M not a multiple of 16, N = 1, N past a group of sixteen pairs)", () => {
      for (const [N, K, M] of [
        [1, 784, 50],
        [1, 784, 500],
        [2, 784, 500],
        [33, 784, 50],
        [69, 17, 70],
        [7, 31, 47],
        [3, 15, 3],
        [4, 1, 1],
        [1, 1, 17],
        [5, 33, 16],
        [0, 784, 10],
      ]) {
        const { pixels, q, s, b } = int8Case(N, K, M, N * K + M, 0.6);
        const want = affineI8Naive(new Float32Array(N * M), pixels, q, s, b, N, K, M, 255);
        expect(bits(kernel(new Float32Array(N * M).fill(99), pixels, q, s, b, N, K, M, 255)), `N ${N}, K ${K}, M ${M}`).toEqual(bits(want));
      }
    });

    it("should give affineI8Naive's bits for random shapes, sparsity and pixel scales", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 40 }),
          fc.double({ min: 0, max: 1 }),
          fc.constantFrom(1, 3, 255, 1000.5),
          fc.integer(),
          (N, K, M, zeros, scale, seed) => {
            const { pixels, q, s, b } = int8Case(N, K, M, seed, zeros);
            const want = affineI8Naive(new Float32Array(N * M), pixels, q, s, b, N, K, M, scale);
            expect(bits(kernel(new Float32Array(N * M), pixels, q, s, b, N, K, M, scale))).toEqual(bits(want));
          },
        ),
      );
    });

    it("should list a pair of inputs where either row of a two-row tile is non-zero, one of the pair or both", () => {
      // Rows non-zero in their own bands, one row all zeros, odd pixels alone in their pair.
      const N = 9;
      const K = 101;
      const M = 21;
      const { pixels, q, s, b } = int8Case(N, K, M, 5, 0);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) if (Math.floor((k * 3) / K) !== n % 3 || (n === 4 && k % 2 === 1)) pixels[n * K + k] = 0;
      pixels.fill(0, 2 * K, 3 * K);
      const want = affineI8Naive(new Float32Array(N * M), pixels, q, s, b, N, K, M, 255);
      expect(bits(kernel(new Float32Array(N * M), pixels, q, s, b, N, K, M, 255))).toEqual(bits(want));
    });
  });
}

const shape = (C: number, IH: number, IW: number, F: number, KH: number, KW: number, stride = 1, pad = 0): ConvShape => ({ C, IH, IW, F, KH, KW, stride, pad });

for (const k of CONV_KERNELS) {
  describe.skipIf(k.skip)(`${k.name}${k.skip ? ` (skipped: ${k.skip})` : ""}`, () => {
    const cv = k.conv as Conv;
    const pool = k.pool as Pool;
    const x9 = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]); // one 3 × 3 channel

    it("should compute convolutions worked out by hand (stride, padding, channels, filters, batch)", () => {
      // A 2 × 2 diagonal kernel over 1..9: each output adds a pixel and the one below right, + 0.5.
      expect([...cv(new Float32Array(4), x9, new Float32Array([1, 0, 0, 1]), new Float32Array([0.5]), 1, shape(1, 3, 3, 1, 2, 2))]).toEqual([
        6.5, 8.5, 12.5, 14.5,
      ]);
      // A 3 × 3 box of ones, pad 1, stride 2: the four corner windows each hold a 2 × 2 block (1+2+4+5, 2+3+5+6, ...).
      expect([...cv(new Float32Array(4), x9, new Float32Array(9).fill(1), new Float32Array([0]), 1, shape(1, 3, 3, 1, 3, 3, 2, 1))]).toEqual([12, 16, 24, 28]);
      // Pad 1, stride 1: the centre output sees all nine pixels, a corner four.
      const same = cv(new Float32Array(9), x9, new Float32Array(9).fill(1), new Float32Array([0]), 1, shape(1, 3, 3, 1, 3, 3, 1, 1));
      expect([...same]).toEqual([12, 21, 16, 27, 45, 33, 24, 39, 28]);
      // Two channels, two 1 × 1 filters: f0 = c0 + 0.1·c1, f1 = 1 − c0; and a second image, negated.
      const x = new Float32Array([1, 2, 3, 4, 10, 20, 30, 40, -1, -2, -3, -4, -10, -20, -30, -40]);
      const W = new Float32Array([1, 0.1, -1, 0]);
      const got = cv(new Float32Array(16), x, W, new Float32Array([0, 1]), 2, shape(2, 2, 2, 2, 1, 1));
      expectClose(got, new Float32Array([2, 4, 6, 8, 0, -1, -2, -3, -2, -4, -6, -8, 2, 3, 4, 5]), 1e-6);
    });

    it("should pool 2 × 2 windows worked out by hand, dropping a leftover edge", () => {
      const x16 = Float32Array.from({ length: 16 }, (_, i) => i + 1);
      expect([...pool(new Float32Array(4), x16, 1, 1, 4, 4, 2)]).toEqual([6, 8, 14, 16]);
      // Two channels, the second negated: the max is then the window's first pixel.
      const two = new Float32Array([...x16, ...x16.map((v) => -v)]);
      expect([...pool(new Float32Array(8), two, 1, 2, 4, 4, 2)]).toEqual([6, 8, 14, 16, -1, -3, -9, -11]);
      // 5 × 5 (0..24): the fifth row and column are dropped.
      expect([
        ...pool(
          new Float32Array(4),
          Float32Array.from({ length: 25 }, (_, i) => i),
          1,
          1,
          5,
          5,
          2,
        ),
      ]).toEqual([6, 8, 16, 18]);
    });

    it("should agree with convNaive and maxPoolNaive for random shapes, strides and padding", () => {
      fc.assert(
        fc.property(
          fc.record({
            N: fc.integer({ min: 1, max: 3 }),
            C: fc.integer({ min: 1, max: 5 }),
            IH: fc.integer({ min: 1, max: 13 }),
            IW: fc.integer({ min: 1, max: 13 }),
            F: fc.integer({ min: 1, max: 9 }),
            KH: fc.integer({ min: 1, max: 5 }),
            KW: fc.integer({ min: 1, max: 5 }),
            stride: fc.integer({ min: 1, max: 3 }),
            pad: fc.integer({ min: 0, max: 2 }),
            seed: fc.integer(),
          }),
          ({ N, seed, ...d }) => {
            const s = shape(d.C, d.IH, d.IW, d.F, d.KH, d.KW, d.stride, d.pad);
            const [OH, OW] = convOutput(s);
            fc.pre(OH > 0 && OW > 0);
            const x = random(N * d.C * d.IH * d.IW, seed, 0.4);
            const W = random(d.F * d.C * d.KH * d.KW, seed + 1);
            const b = random(d.F, seed + 2);
            const want = convNaive(new Float32Array(N * d.F * OH * OW), x, W, b, N, s);
            expectClose(cv(new Float32Array(N * d.F * OH * OW).fill(99), x, W, b, N, s), want, 1e-5);
            const P = Math.floor(OH / 2) * Math.floor(OW / 2);
            expect([...pool(new Float32Array(N * d.F * P), want, N, d.F, OH, OW, 2)]).toEqual([
              ...maxPoolNaive(new Float32Array(N * d.F * P), want, N, d.F, OH, OW, 2),
            ]);
          },
        ),
      );
    });
  });
}

describe.each([
  ["Wasm SIMD", simd],
  ["Wasm relaxed SIMD", relaxed],
])("%s whole convolution layers", (name, kernel) => {
  it.skipIf(!kernel)(
    `should run conv, ReLU or none, and max pooling 1 to 3 as convNaive, relu and maxPoolNaive do in turn${kernel ? "" : ` (skipped: ${name} missing)`}`,
    () => {
      const k = kernel as KernelProbe;
      fc.assert(
        fc.property(
          fc.record({
            N: fc.integer({ min: 1, max: 3 }),
            C: fc.integer({ min: 1, max: 4 }),
            IH: fc.integer({ min: 1, max: 12 }),
            IW: fc.integer({ min: 1, max: 12 }),
            F: fc.integer({ min: 1, max: 9 }),
            KH: fc.integer({ min: 1, max: 5 }),
            KW: fc.integer({ min: 1, max: 5 }),
            stride: fc.integer({ min: 1, max: 2 }),
            pad: fc.integer({ min: 0, max: 2 }),
            pool: fc.integer({ min: 0, max: 3 }),
            activation: fc.constantFrom<Activation>("relu", "identity", "sigmoid"),
            seed: fc.integer(),
          }),
          ({ N, pool, activation, seed, ...d }) => {
            const s = shape(d.C, d.IH, d.IW, d.F, d.KH, d.KW, d.stride, d.pad);
            const [OH, OW] = convOutput(s);
            const P = Math.max(pool, 1);
            fc.pre(OH >= P && OW >= P);
            const x = random(N * d.C * d.IH * d.IW, seed, 0.4);
            const W = random(d.F * d.C * d.KH * d.KW, seed + 1);
            const b = random(d.F, seed + 2);
            const a = convNaive(new Float32Array(N * d.F * OH * OW), x, W, b, N, s);
            if (activation === "relu") relu(a);
            if (activation === "sigmoid") sigmoid(a);
            const PH = Math.floor(OH / P);
            const PW = Math.floor(OW / P);
            const want = P > 1 ? maxPoolNaive(new Float32Array(N * d.F * PH * PW), a, N, d.F, OH, OW, P) : a;
            expectClose(k.convLayer(new Float32Array(want.length).fill(99), x, W, b, N, s, activation, pool), want, 1e-5);
          },
        ),
      );
    },
  );
});

/** A convolutional network on a (C, H, W) input: each conv [F, K, stride, pad, pool], then dense sizes, the last softmax. */
function convNetwork(
  input: [number, number, number],
  convs: [number, number, number, number, number][],
  dense: number[],
  seed: number,
  scale?: number,
): Network {
  let [C, H, W] = input;
  const layers: Network["layers"] = convs.map(([F, K, stride, pad, pool], i) => {
    const c = shape(C, H, W, F, K, K, stride, pad);
    const [OH, OW] = convOutput(c);
    const inSize = C * H * W;
    [C, H, W] = [F, Math.floor(OH / (pool || 1)), Math.floor(OW / (pool || 1))];
    return {
      W: random(F * c.C * K * K, seed + 2 * i).map((v) => v * 0.5),
      b: random(F, seed + 2 * i + 1).map((v) => v * 0.1),
      inSize,
      outSize: C * H * W,
      activation: "relu",
      conv: c,
      ...(pool ? { pool } : {}),
    };
  });
  let size = C * H * W;
  dense.forEach((M, i) => {
    const last = i === dense.length - 1;
    layers.push({
      W: random(size * M, seed + 100 + i).map((v) => v * 0.3),
      b: random(M, seed + 200 + i).map((v) => v * 0.1),
      inSize: size,
      outSize: M,
      activation: last ? "softmax" : "relu",
      ...(last && scale !== undefined ? { scale } : {}),
    });
    size = M;
  });
  return { layers };
}

describe("forward passes against the reference (forwardNaive)", () => {
  const nets: [string, Network][] = [
    ["book-shaped sigmoid", network([784, 50, 100, 10], ["sigmoid", "sigmoid", "softmax"], 1)],
    ["mlp-shaped relu", network([784, 500, 250, 10], ["relu", "relu", "softmax"], 2)],
    ["awkward sizes", network([37, 13, 9, 3], ["relu", "sigmoid", "softmax"], 3)],
    ["step and identity", network([20, 6, 5], ["step", "identity"], 4)],
    ["simple-convnet-shaped (conv, pool, dense)", convNetwork([1, 12, 12], [[5, 5, 1, 0, 2]], [20, 10], 8)],
    [
      "deep-convnet-shaped (pad 1 and 2, stride 2, pools, input scale 0.5)",
      convNetwork(
        [1, 14, 14],
        [
          [4, 3, 1, 1, 0],
          [6, 3, 1, 2, 2],
          [5, 3, 2, 1, 2],
        ],
        [9, 10],
        9,
        0.5,
      ),
    ],
    ["two input channels, odd sizes", convNetwork([2, 9, 7], [[3, 2, 1, 0, 2]], [4], 10)],
  ];
  for (const b of BACKENDS) {
    describe.skipIf(b.skip)(`${b.name}${b.skip ? ` (skipped: ${b.skip})` : ""}`, () => {
      it("should keep probabilities within 1e-5 (max abs difference) and logits within 1e-4 relative, on random networks", () => {
        const backend = (b.create as () => Backend)();
        for (const [name, net] of nets) {
          const loaded = loadNetwork(backend, net);
          const D = net.layers[0].inSize;
          for (const N of [1, 5, 70]) {
            const x = random(N * D, N * 7 + D, 0.7).map(Math.abs);
            const d = maxAbsDiff(loaded.forward(x, N), forwardNaive(net, x, N));
            expect(d, `${name}, N = ${N}: max abs difference ${d}`).toBeLessThanOrEqual(1e-5);
            expectClose(loaded.forward(x, N, { softmax: false }), forwardNaive(net, x, N, { softmax: false }), 1e-4);
          }
        }
      });

      it("should give from pixels exactly what it gives from the floats pixelsToInput makes, and finish logits with its own softmax exactly", () => {
        const loaded = loadNetwork((b.create as () => Backend)(), network([784, 50, 100, 10], ["sigmoid", "sigmoid", "softmax"], 5));
        const pixels = new Uint8Array(random(40 * 784, 9, 0.8).map((v) => Math.abs(v) * 255));
        const x = pixelsToInput(pixels, 255);
        const y = loaded.forward(x, 40);
        expect([...loaded.forwardPixels(pixels, 40, 255)]).toEqual([...y]);
        expect([...loaded.forwardPixels(pixels.subarray(0, 3 * 784), 3, 255)]).toEqual([...y.subarray(0, 30)]);
        expect([...loaded.softmax(loaded.forward(x, 40, { softmax: false }), 10)]).toEqual([...y]);
      });

      it("should copy its weights out exactly (dense, convDirect's packed filters, im2col's), and not run on a copy the caller changes", () => {
        const nets = [
          network([37, 13, 9, 3], ["relu", "sigmoid", "softmax"], 6),
          convNetwork([1, 12, 12], [[6, 5, 1, 0, 2]], [20, 10], 14),
          convNetwork(
            [1, 14, 14],
            [
              [4, 3, 1, 1, 0],
              [5, 3, 2, 1, 2],
            ],
            [10],
            15,
          ),
        ];
        for (const net of nets) {
          const loaded = loadNetwork((b.create as () => Backend)(), net);
          const copy = loaded.toNetwork();
          expect(copy.layers.map((l) => [...l.W])).toEqual(net.layers.map((l) => [...l.W]));
          const x = random(net.layers[0].inSize, 1, 0.5).map(Math.abs);
          const before = loaded.forward(x, 1);
          copy.layers[0].W.fill(0);
          expect([...loaded.forward(x, 1)]).toEqual([...before]);
        }
      });

      it("should load I8 weights as the F32 values dequantizeI8 gives, bit for bit, and run them as the reference does", () => {
        const dense = network([37, 13, 9, 3], ["relu", "sigmoid", "softmax"], 11);
        // Column 4 of W (13, 9) all zeros: scale 0, exact zeros back.
        for (let k = 0; k < 13; k++) dense.layers[1].W.fill(0, k * 9 + 4, k * 9 + 5);
        const conv = convNetwork([2, 9, 7], [[3, 2, 1, 0, 2]], [4], 12);
        for (const net of [dense, conv]) {
          const bytes = encodeModel(net, {
            dtype: "I8",
            labels: ["0", "1", "2", "3"].slice(0, net.layers.at(-1)?.outSize),
            inputShape: net.layers[0].conv ? [2, 9, 7] : [37],
          });
          const header = readSafetensorsHeader(bytes);
          const model = decodeModel(bytes, (b.create as () => Backend)());
          expect(model.dtype).toBe("I8");
          const loaded = model.network.toNetwork();
          loaded.layers.forEach((l, i) => {
            const raw = (name: string) => {
              const e = header.entries.find((x) => x.name === name) as HeaderEntry;
              return tensorBytes(bytes, header, e).slice();
            };
            const q = new Int8Array(raw(`layers.${i}.weight`).buffer);
            const scale = new Float32Array(raw(`layers.${i}.weight_scale`).buffer);
            const want = dequantizeI8(q, scale, l.conv ? "filter" : "column");
            expect(new Uint32Array(l.W.buffer, l.W.byteOffset, l.W.length)).toEqual(new Uint32Array(want.buffer));
            expect([...l.b]).toEqual([...net.layers[i].b]);
            // Within half a step of the weight it stands for.
            expect(maxAbsDiff(l.W, net.layers[i].W)).toBeLessThanOrEqual(Math.max(...scale) / 2 + 1e-7);
          });
          expect(loaded.layers[0].W.some((v, j) => v !== net.layers[0].W[j])).toBe(true);
          if (net === dense) expect(loaded.layers[1].W.filter((_, j) => j % 9 === 4).every((v) => Object.is(v, 0))).toBe(true);
          const D = net.layers[0].inSize;
          const x = random(5 * D, 3, 0.5).map(Math.abs);
          expect(maxAbsDiff(model.network.forward(x, 5), forwardNaive(loaded, x, 5))).toBeLessThanOrEqual(1e-5);
        }
      });

      it("should run an I8 model's first layer on pixels in whole numbers: affineI8Naive's bits, one image alone as in a batch, within float rounding of the F32 path", () => {
        // One dense layer, no activation: forwardPixels' answer is affineI8Naive's, bit for bit, in every backend.
        for (const [K, M] of [
          [784, 50],
          [37, 19],
        ]) {
          const net = network([K, M], ["identity"], K + M);
          const bytes = encodeModel(net, { dtype: "I8", labels: Array.from({ length: M }, (_, j) => String(j)), inputShape: [K] });
          const header = readSafetensorsHeader(bytes);
          const raw = (name: string) => tensorBytes(bytes, header, header.entries.find((e) => e.name === name) as HeaderEntry).slice();
          const q = new Int8Array(raw("layers.0.weight").buffer);
          const scale = new Float32Array(raw("layers.0.weight_scale").buffer);
          const model = decodeModel(bytes, (b.create as () => Backend)());
          const N = 37;
          const pixels = new Uint8Array(random(N * K, K, 0.7).map((v) => Math.abs(v) * 255));
          const want = affineI8Naive(new Float32Array(N * M), pixels, q, scale, net.layers[0].b, N, K, M, 255);
          const got = model.network.forwardPixels(pixels, N, 255, { softmax: false });
          expect(bits(got)).toEqual(bits(want));
          expect(bits(model.network.forwardPixels(pixels.subarray(5 * K, 6 * K), 1, 255, { softmax: false }))).toEqual(bits(want.subarray(5 * M, 6 * M)));
          // The F32 path (the same weights dequantised, the pixels divided) differs by rounding only.
          expectClose(model.network.forward(pixelsToInput(pixels, 255), N, { softmax: false }), got, 1e-5);
        }
        // A whole I8 network from pixels: within 1e-6 of the F32 path's probabilities.
        const net = network([784, 50, 100, 10], ["sigmoid", "sigmoid", "softmax"], 16);
        const model = decodeModel(encodeModel(net, { dtype: "I8" }), (b.create as () => Backend)());
        const pixels = new Uint8Array(random(40 * 784, 17, 0.8).map((v) => Math.abs(v) * 255));
        const d = maxAbsDiff(model.network.forwardPixels(pixels, 40, 255), model.network.forward(pixelsToInput(pixels, 255), 40));
        expect(d).toBeGreaterThan(0);
        expect(d).toBeLessThanOrEqual(1e-6);
      });

      it("should refuse a non-finite weight, naming the tensor and index", () => {
        const net = network([20, 6, 5], ["relu", "softmax"], 7);
        net.layers[1].W[4] = Number.NEGATIVE_INFINITY;
        expect(() => loadNetwork((b.create as () => Backend)(), net)).toThrow(/"layers.1.weight" holds a non-finite value \(-Infinity\) at index 4/);
      });
    });
  }

  it("should give each image the same bits alone as in a batch (two-row tiles and single rows sum alike, filters placed once)", () => {
    const nets = [
      network([784, 50, 100, 10], ["sigmoid", "sigmoid", "softmax"], 8),
      network([61, 29, 33, 7], ["relu", "relu", "identity"], 9),
      convNetwork([1, 12, 12], [[6, 5, 1, 0, 2]], [20, 10], 12),
      convNetwork(
        [1, 14, 14],
        [
          [4, 3, 1, 1, 0],
          [5, 3, 2, 1, 2],
        ],
        [10],
        13,
      ),
    ];
    for (const b of BACKENDS) {
      if (b.skip) continue;
      for (const net of nets) {
        const loaded = loadNetwork((b.create as () => Backend)(), net);
        const D = net.layers[0].inSize;
        const C = net.layers.at(-1)?.outSize as number;
        const x = random(11 * D, D, 0.8).map(Math.abs);
        const batch = loaded.forward(x, 11, { softmax: false });
        for (let n = 0; n < 11; n++) {
          expect([...loaded.forward(x.subarray(n * D, (n + 1) * D), 1, { softmax: false })], `${b.name}, image ${n}`).toEqual([
            ...batch.subarray(n * C, (n + 1) * C),
          ]);
        }
      }
    }
  });

  it.skipIf(!simd)("should run a different kernel in Wasm than in JS, each within 1e-5 of the other", () => {
    const net = network([784, 50, 100, 10], ["sigmoid", "sigmoid", "softmax"], 5);
    const x = pixelsToInput(new Uint8Array(random(40 * 784, 9, 0.8).map((v) => Math.abs(v) * 255)), 255);
    const js = loadNetwork(new JsBackend(), net).forward(x, 40);
    const wasm = loadNetwork(createWasmBackend(false) as Backend, net).forward(x, 40);
    expect(maxAbsDiff(wasm, js)).toBeGreaterThan(0);
    expect(maxAbsDiff(wasm, js)).toBeLessThanOrEqual(1e-5);
  });
});

describe.each([
  ["Wasm SIMD", simd],
  ["Wasm relaxed SIMD", relaxed],
])("%s activations", (name, kernel) => {
  it.skipIf(!kernel)(`should keep e^x within 2e-7 relative error over [-87, 88]${kernel ? "" : ` (skipped: ${name} missing)`}`, () => {
    const k = kernel as KernelProbe;
    const n = 1 << 18;
    const x = new Float32Array(n).map((_, i) => -87 + (175 * i) / n);
    const y = k.exp(new Float32Array(x));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i] - Math.exp(x[i])) / Math.exp(x[i]));
    expect(worst).toBeLessThanOrEqual(2e-7);
    expect([...k.exp(new Float32Array([0, 1]))]).toEqual([1, Math.fround(Math.E)]);
  });

  it.skipIf(!kernel)("should match the JS activations, saturating without NaN", () => {
    const k = kernel as KernelProbe;
    const x = new Float32Array([-1e30, -100, -3, -1, -0.5, 0, 0.25, 1, 3, 50, 1e30, -0]);
    expectClose(k.activation("sigmoid", new Float32Array(x)), sigmoid(new Float32Array(x)), 1e-6);
    expect([...k.activation("relu", new Float32Array(x))]).toEqual([...relu(new Float32Array(x))]);
    expect([...k.activation("step", new Float32Array(x))]).toEqual([...step(new Float32Array(x))]);
    expect([...k.activation("relu", new Float32Array([Number.NaN, -2, 2]))]).toEqual([0, 0, 2]);
  });

  it.skipIf(!kernel)("should give the reference softmax (float64, test/reference.ts), row by row, for ordinary and extreme rows", () => {
    const k = kernel as KernelProbe;
    const rows = [
      [0.3, 2.9, 4.0],
      [1010, 1000, 990],
      [1e30, -1e30, 0],
      [7, 7, 7],
      [-Infinity, 0, 1],
    ];
    const got = k.activation("softmax", new Float32Array(rows.flat()), 3);
    expectClose(got, new Float32Array(rows.flatMap((r) => [...softmaxNaive(new Float32Array(r))])), 1e-6);
    // Rows the float64 reference cannot take: an Infinity wins outright, and all -Infinity gives no NaN.
    expectClose(k.activation("softmax", new Float32Array([Infinity, 0, 1])), new Float32Array([1, 0, 0]), 1e-6);
    expect(k.activation("softmax", new Float32Array([-Infinity, -Infinity, -Infinity])).every(Number.isFinite)).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 20 }), (v) => {
        const y = k.activation("softmax", new Float32Array(v));
        expect(maxAbsDiff(y, new Float32Array(softmaxNaive(new Float32Array(v))))).toBeLessThanOrEqual(1e-6);
        // The arg-max survives (up to ties that e^x's rounding may break either way).
        expect(y[argmax(new Float32Array(v))[0]]).toBeGreaterThanOrEqual(y[argmax(y)[0]] - 1e-6);
      }),
    );
  });

  it.skipIf(!kernel)("should decode every F16 bit pattern as the scalar f16ToF32 does, and find the first non-finite one", () => {
    const k = kernel as KernelProbe;
    const finite = new Uint16Array(65536 - 2048);
    let n = 0;
    for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00) finite[n++] = h;
    const got = k.f16ToF32(new Uint8Array(finite.buffer), n) as Float32Array;
    const want = Float32Array.from(finite.subarray(0, n), f16ToF32);
    expect(maxAbsDiff(got, want)).toBe(0);
    for (const at of [0, 5, 8, 13, 200]) {
      const h = new Uint16Array(201).fill(0x3c00);
      h[at] = at % 2 ? 0xfc00 : 0x7e00; // -Infinity, NaN
      expect(k.f16ToF32(new Uint8Array(h.buffer), 201)).toBe(at);
    }
  });

  it.skipIf(!kernel)("should dequantise I8 weights to dequantizeI8's bits, per column and per filter, whatever the width", () => {
    const k = kernel as KernelProbe;
    const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
    // Every q, and scales from subnormal to large enough that 127 · scale overflows to Infinity.
    const scales = [1e-45, 3e-39, 1 / 3, 0.1, 0.0078125, 2.9e36, 3e38, 0];
    for (const G of [1, 3, 10, 16, 17, 50, 257]) {
      const rows = 9;
      const q = Int8Array.from({ length: G * rows }, (_, i) => ((i * 37) % 256) - 128);
      const scale = Float32Array.from({ length: G }, (_, j) => scales[j % scales.length] * (1 + j / 1000));
      expect(bits(k.i8ToF32(q, scale, "column"))).toEqual(bits(dequantizeI8(q, scale, "column")));
      const byFilter = Float32Array.from({ length: rows }, (_, f) => scales[f % scales.length]);
      expect(bits(k.i8ToF32(q, byFilter, "filter"))).toEqual(bits(dequantizeI8(q, byFilter, "filter")));
    }
  });

  it.skipIf(!kernel)("should find the first non-finite F32 value, or none", () => {
    const k = kernel as KernelProbe;
    expect(k.firstNonFinite(random(203, 1).map((v) => v * 3e38))).toBe(-1);
    for (const at of [0, 3, 4, 101, 202]) {
      const x = random(203, at);
      x[at] = [Infinity, -Infinity, Number.NaN][at % 3];
      x[202] = at === 202 ? x[202] : Number.NaN; // a later one does not hide the first
      expect(k.firstNonFinite(x)).toBe(at);
    }
  });
});

// The bundled models (every one the catalog names) on their test images:
// each backend's labels agree with the reference's on all but at most 2 and
// the accuracy is within 2 images. All 10000 for dense networks; the first
// 2000 for convolutional ones, whose float64 seven-loop reference (and JS
// backend) take minutes over all 10000 on a busy machine.
for (const [name, { dataset }] of Object.entries(MODELS) as [string, { dataset: DatasetName }][]) {
  const bytes = readFileSync(`weights/${name}.safetensors`);
  const reference = decodeModel(bytes, new JsBackend()).network.toNetwork();
  const count = reference.layers.some((l) => l.conv) ? 2000 : 10000;
  describe.skipIf(skipWithoutData(datasetPresent(dataset, "test")))(`${name} on ${count} test images (needs ${DATASET_DIRS[dataset]})`, () => {
    const split = datasetPresent(dataset, "test") ? loadSplit(dataset, "test") : undefined;
    let want: Int32Array | undefined;
    const correct = (labels: Int32Array) => labels.reduce((s, l, i) => s + (l === split?.labels[i] ? 1 : 0), 0);

    for (const b of BACKENDS) {
      it.skipIf(b.skip)(`${b.name}: labels agree on all but at most 2 images, accuracy within 2`, () => {
        const model = decodeModel(bytes, (b.create as () => Backend)());
        const x = pixelsToInput((split as { pixels: Uint8Array }).pixels.subarray(0, count * 784), model.inputScale);
        want ??= argmax(forwardNaive(reference, x, count), 10);
        const got = argmax(model.network.forward(x, count), 10);
        const agree = got.reduce((s, l, i) => s + (l === (want as Int32Array)[i] ? 1 : 0), 0);
        expect(agree).toBeGreaterThanOrEqual(count - 2);
        expect(Math.abs(correct(got) - correct(want))).toBeLessThanOrEqual(2);
      });
    }
  });
}
