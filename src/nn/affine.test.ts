// One suite for every implementation of the dense layer: each must agree with
// the naive reference within float32 rounding. A new kernel (a wasm one, say)
// joins by adding a line to KERNELS.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectClose } from "../../test/helpers";
import { affine, affineNaive } from "./affine";

const KERNELS = { affine } as const;

function random(n: number, seed: number, zeros = 0): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    out[i] = u < zeros ? 0 : u * 2 - 1;
  }
  return out;
}

for (const [name, kernel] of Object.entries(KERNELS)) {
  describe(`${name} matches affineNaive`, () => {
    it("should compute a 2x3 by 3x2 product by hand", () => {
      const x = new Float32Array([1, 2, 3, 4, 5, 6]);
      const W = new Float32Array([1, 0, 0, 1, 1, 1]);
      const b = new Float32Array([0.5, -1]);
      expect([...kernel(new Float32Array(4), x, W, b, 2, 3, 2)]).toEqual([4.5, 4, 10.5, 10]);
    });

    it("should agree on the book's shapes and on awkward ones (N not a multiple of 4)", () => {
      for (const [N, K, M] of [
        [1, 784, 50],
        [4, 784, 50],
        [7, 50, 100],
        [100, 100, 10],
        [13, 5, 3],
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
          fc.integer({ min: 1, max: 20 }),
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

    it("should overwrite, not accumulate into, a dirty output buffer", () => {
      const out = new Float32Array(6).fill(99);
      const x = random(2 * 4, 3);
      const W = random(4 * 3, 4);
      const b = random(3, 5);
      expectClose(kernel(out, x, W, b, 2, 4, 3), affineNaive(new Float32Array(6), x, W, b, 2, 4, 3));
    });
  });
}
