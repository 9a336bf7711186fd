import { describe, expect, it } from "vitest";
import { bookNetwork, expectClose, forwardNaive, rand } from "../../test/helpers";
import { forward, parameterCount, predict } from "./network";

function images(n: number, seed: number): Float32Array {
  const r = rand(seed);
  // Like MNIST: mostly background, some ink in [0, 1].
  return new Float32Array(n * 784).map(() => {
    const v = r();
    return v < 0.5 ? 0 : v;
  });
}

describe("predict", () => {
  it("should match the slow reference for one image", () => {
    const net = bookNetwork();
    const x = images(1, 7);
    expectClose(predict(net, x), forwardNaive(net, x, 1), 1e-5);
  });

  it("should give probabilities that sum to 1", () => {
    const y = predict(bookNetwork(), images(1, 3));
    expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("should return the last affine output, before softmax, when asked for logits", () => {
    const net = bookNetwork();
    const x = images(1, 9);
    const logits = predict(net, x, { softmax: false });
    const probs = predict(net, x);
    const m = Math.max(...logits);
    const e = [...logits].map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    expectClose(probs, new Float32Array(e.map((v) => v / s)), 1e-5);
    expectClose(logits, forwardNaive(net, x, 1, { softmax: false }), 1e-5);
  });

  it("should count the book network's parameters", () => {
    expect(parameterCount(bookNetwork())).toBe(784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10);
  });
});

describe("forward (batched)", () => {
  it("should give each row the single-image result", () => {
    const net = bookNetwork(2);
    for (const N of [1, 3, 4, 9, 100]) {
      const x = images(N, N);
      const y = forward(net, x, N);
      for (let n = 0; n < N; n++) {
        expectClose(y.subarray(n * 10, n * 10 + 10), predict(net, x.subarray(n * 784, n * 784 + 784)), 1e-6);
      }
    }
  });

  it("should return an empty matrix for an empty batch", () => {
    expect(forward(bookNetwork(), new Float32Array(0), 0).length).toBe(0);
  });
});
