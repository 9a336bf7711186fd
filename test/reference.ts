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
 * The reference forward pass, the book's `predict` written out for each row
 * of x: z = x; for each layer a = z·W + b, z = h(a). x is (N, D); returns
 * (N, C). With softmax false the last layer's activation is skipped (its
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
      const { inSize: K, outSize: M, W, b, activation } = net.layers[i];
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
