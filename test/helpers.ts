// Shared by the test suites: fixtures and the tolerance checker.
import { expect } from "vitest";
import type { Network } from "../src/nn/network";
import { rand } from "./reference";

/** llm.c-style checker: max |difference| and the first mismatches, then assert. */
export function expectClose(got: Float32Array, want: Float32Array, tol = 1e-4): void {
  expect(got.length).toBe(want.length);
  let maxDiff = 0;
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxDiff = Math.max(maxDiff, d);
    if (!(d <= tol * Math.max(1, Math.abs(want[i]))) && bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
  }
  expect(bad, `max diff ${maxDiff}; first mismatches: ${bad.join(", ")}`).toEqual([]);
}

export { forwardNaive, rand } from "./reference";

/**
 * The error of class `kind` that `f` throws; any other outcome fails the test.
 * @example expect(refusal(() => decodeImage(bad, header, max), ImageError).kind).toBe("corrupt");
 */
export function refusal<E extends Error>(f: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    if (e instanceof kind) return e;
    throw e;
  }
  throw new Error(`expected a ${kind.name}`);
}

/** A model's spec as the body readers see it: 2×2 pictures, 3 classes, bytes / 255. */
export const TINY_SPEC = {
  sizes: [4, 3],
  activations: ["softmax" as const],
  labels: ["a", "b", "c"],
  inputShape: [2, 2],
  inputScale: 255,
  dtype: "F32",
  parameters: 15,
  metadata: {} as Record<string, string>,
};

/** A book-shaped network (784→50→100→10, sigmoid, sigmoid, softmax) with random weights. */
export function bookNetwork(seed = 1): Network {
  const r = rand(seed);
  const sizes = [784, 50, 100, 10];
  const acts = ["sigmoid", "sigmoid", "softmax"] as const;
  return {
    layers: acts.map((activation, i) => ({
      W: new Float32Array(sizes[i] * sizes[i + 1]).map(() => r() * 0.1),
      b: new Float32Array(sizes[i + 1]).map(() => r() * 0.1),
      inSize: sizes[i],
      outSize: sizes[i + 1],
      activation,
    })),
  };
}
