// The references every test (and the bench) shares: one seeded generator for
// fixtures and one slow, obvious forward pass. No test framework here, so
// scripts can use them too.
import { affineNaive } from "../src/nn/affine";
import { forward, type Network, type OutputKind } from "../src/nn/network";
import { rng } from "../src/nn/random";

/** Seeded numbers in [-1, 1), from the project's one generator. */
export function rand(seed: number): () => number {
  const r = rng(seed);
  return () => r() * 2 - 1;
}

/** n digit-like images as bytes: a share `background` of zeros, the rest uniform ink in 1..255. */
export function digitBytes(n: number, seed = 1, background = 0.75, D = 784): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n * D);
  for (let i = 0; i < out.length; i++) {
    const u = r();
    out[i] = u < background ? 0 : 1 + Math.floor(((u - background) / (1 - background)) * 255);
  }
  return out;
}

/**
 * The reference forward pass: the book's forward through `affineNaive`, the
 * triple loop in float64. x is (N, D); returns (N, C). Every faster path is held to it.
 */
export function forwardNaive(net: Network, x: Float32Array, N: number, output: OutputKind = "probabilities"): Float32Array {
  return forward(net, x, N, output, affineNaive);
}
