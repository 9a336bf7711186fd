import { describe, expect, it } from "vitest";
import { bookNetwork, expectClose, rand } from "../../test/helpers";
import { forward, type Network, parameterCount, predict } from "./network";

/** The slow obvious forward pass: nested arrays of doubles, formulas written out. */
function referencePredict(net: Network, x: number[]): number[] {
  let z = x;
  for (const l of net.layers) {
    const a: number[] = [];
    for (let j = 0; j < l.outSize; j++) {
      let s = l.b[j];
      for (let k = 0; k < l.inSize; k++) s += z[k] * l.W[k * l.outSize + j];
      a.push(s);
    }
    if (l.activation === "sigmoid") z = a.map((v) => 1 / (1 + Math.exp(-v)));
    else if (l.activation === "relu") z = a.map((v) => Math.max(0, v));
    else if (l.activation === "softmax") {
      const m = Math.max(...a);
      const e = a.map((v) => Math.exp(v - m));
      const sum = e.reduce((p, q) => p + q, 0);
      z = e.map((v) => v / sum);
    } else z = a;
  }
  return z;
}

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
    expectClose(predict(net, x), new Float32Array(referencePredict(net, [...x])), 1e-5);
  });

  it("should give probabilities that sum to 1", () => {
    const y = predict(bookNetwork(), images(1, 3));
    expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("should return the last affine output for logits and label", () => {
    const net = bookNetwork();
    const x = images(1, 9);
    const logits = predict(net, x, "logits");
    const probs = predict(net, x);
    const m = Math.max(...logits);
    const e = [...logits].map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    expectClose(probs, new Float32Array(e.map((v) => v / s)), 1e-5);
    expect([...predict(net, x, "label")]).toEqual([...logits]);
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
