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

/**
 * The reference forward pass: the book's forward through `affineNaive`, the
 * triple loop in float64. x is (N, D); returns (N, C). Every faster path is held to it.
 */
export function forwardNaive(net: Network, x: Float32Array, N: number, output: OutputKind = "probabilities"): Float32Array {
  return forward(net, x, N, output, affineNaive);
}
