// The references every test (and the bench) shares: one seeded generator for
// fixtures and a slow, obvious forward pass. The forward pass shares no code
// with src/nn (its own loops, its own activations, float64 throughout), so a
// bug in the kernels, the chunking or the activations cannot hide on both
// sides of a comparison. No test framework here, so scripts can use it too.
import type { Network } from "../src/nn/network";
import { rng } from "../src/nn/random";

/** Seeded numbers in [-1, 1), from the project's one generator. */
export function rand(seed: number): () => number {
  const r = rng(seed);
  return () => r() * 2 - 1;
}

/** Stable softmax of one row, in float64: e^(a - max) / Σ e^(a - max). */
export function softmaxNaive(a: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]);
  const e = Float64Array.from(a, (v) => Math.exp(v - m));
  const sum = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / sum);
}

function activate(name: string, a: Float64Array): Float64Array {
  switch (name) {
    case "sigmoid":
      return a.map((v) => 1 / (1 + Math.exp(-v)));
    case "relu":
      return a.map((v) => Math.max(v, 0));
    case "step":
      return a.map((v) => (v > 0 ? 1 : 0));
    case "softmax":
      return softmaxNaive(a);
    case "identity":
      return a;
    default:
      throw new Error(`the reference has no activation "${name}"`);
  }
}

/**
 * A convolution of one image in float64: z is (C, IH, IW) channels first, W
 * (F, C, KH, KW); returns (F, OH, OW). Pixels outside the input are 0.
 */
function convolve(z: Float64Array, W: Float32Array, b: Float32Array, c: NonNullable<Network["layers"][number]["conv"]>): Float64Array {
  const OH = Math.floor((c.IH + 2 * c.pad - c.KH) / c.stride) + 1;
  const OW = Math.floor((c.IW + 2 * c.pad - c.KW) / c.stride) + 1;
  const out = new Float64Array(c.F * OH * OW);
  for (let f = 0; f < c.F; f++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let s = b[f];
        for (let ch = 0; ch < c.C; ch++)
          for (let ky = 0; ky < c.KH; ky++) {
            const iy = oy * c.stride + ky - c.pad;
            if (iy < 0 || iy >= c.IH) continue;
            for (let kx = 0; kx < c.KW; kx++) {
              const ix = ox * c.stride + kx - c.pad;
              if (ix >= 0 && ix < c.IW) s += z[(ch * c.IH + iy) * c.IW + ix] * W[((f * c.C + ch) * c.KH + ky) * c.KW + kx];
            }
          }
        out[(f * OH + oy) * OW + ox] = s;
      }
  return out;
}

/** Max over p × p windows, stride p, of P planes of H × W; edges left over are dropped. */
function pooled(z: Float64Array, P: number, H: number, W: number, p: number): Float64Array {
  const OH = Math.floor(H / p);
  const OW = Math.floor(W / p);
  const out = new Float64Array(P * OH * OW).fill(-Infinity);
  for (let c = 0; c < P; c++)
    for (let y = 0; y < OH * p; y++)
      for (let x = 0; x < OW * p; x++) {
        const o = (c * OH + Math.floor(y / p)) * OW + Math.floor(x / p);
        out[o] = Math.max(out[o], z[(c * H + y) * W + x]);
      }
  return out;
}

/**
 * The reference forward pass, the book's `predict` written out for each row
 * of x: z = x; for each layer z = z × scale (its inference-time dropout, if
 * any), a = z·W + b or the convolution z ∗ W + b, z = h(a), then its max
 * pooling if any. x is (N, D); returns (N, C). With softmax false the last layer's activation is skipped (its
 * affine output a, the logits). Every faster path is held to it.
 */
export function forwardNaive(net: Network, x: Float32Array, N: number, opts: { softmax?: boolean } = {}): Float32Array {
  const L = net.layers.length;
  const D = net.layers[0].inSize;
  const C = net.layers[L - 1].outSize;
  const y = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    let z: Float64Array = Float64Array.from(x.subarray(n * D, (n + 1) * D));
    for (let i = 0; i < L; i++) {
      const { inSize: K, outSize: M, W, b, activation, conv, pool, scale } = net.layers[i];
      if (scale !== undefined) z = z.map((v) => v * scale);
      if (conv) {
        const OH = Math.floor((conv.IH + 2 * conv.pad - conv.KH) / conv.stride) + 1;
        const OW = Math.floor((conv.IW + 2 * conv.pad - conv.KW) / conv.stride) + 1;
        z = activate(activation, convolve(z, W, b, conv));
        if (pool) z = pooled(z, conv.F, OH, OW, pool);
        continue;
      }
      // a = z·W + b. Each a[j] sums b[j] then z[k]·W[k][j] for k = 0, 1, ...;
      // the k loop is outside so W is read row by row, and a zero z[k] (most
      // pixels, half of ReLU outputs) adds nothing to the finite sums, so it
      // is passed over: the 10000-image checks would otherwise take minutes.
      const a = Float64Array.from(b);
      for (let k = 0; k < K; k++) {
        const zk = z[k];
        if (zk !== 0) for (let j = 0; j < M; j++) a[j] += zk * W[k * M + j];
      }
      z = i < L - 1 || opts.softmax !== false ? activate(activation, a) : a;
    }
    y.set(z, n * C);
  }
  return y;
}
