// Backpropagation held to the slow obvious numerical gradient, as the book's
// ch05/gradient_check.py does.
import { describe, expect, it } from "vitest";
import { activationBackward, Adam, affineBackward, softmaxCrossEntropyBackward } from "./backward";
import { affine } from "./affine";
import { activate } from "./functions";
import type { Network } from "./network";

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
}

function tiny(activation: "relu" | "sigmoid", sizes = [6, 5, 4, 3]): Network {
  const r = rand(11);
  return {
    layers: sizes.slice(1).map((M, i) => ({
      W: new Float32Array(sizes[i] * M).map(() => r()),
      b: new Float32Array(M).map(() => r() * 0.1),
      inSize: sizes[i],
      outSize: M,
      activation: i === sizes.length - 2 ? "softmax" : activation,
    })),
  };
}

function loss(net: Network, x: Float32Array, t: number[], B: number): number {
  let z = x;
  for (const l of net.layers) {
    const a = affine(new Float32Array(B * l.outSize), z, l.W, l.b, B, l.inSize, l.outSize);
    z = activate(l.activation, a, l.outSize);
  }
  const C = net.layers[net.layers.length - 1].outSize;
  return -t.reduce((s, c, n) => s + Math.log(z[n * C + c] + 1e-7), 0) / B;
}

function backprop(net: Network, x: Float32Array, t: number[], B: number): Float32Array[] {
  const zs = [x];
  for (const l of net.layers) {
    const a = affine(new Float32Array(B * l.outSize), zs[zs.length - 1], l.W, l.b, B, l.inSize, l.outSize);
    zs.push(activate(l.activation, a, l.outSize));
  }
  const L = net.layers.length;
  let d = new Float32Array(zs[L]);
  softmaxCrossEntropyBackward(d, t, B, net.layers[L - 1].outSize);
  const grads: Float32Array[] = [];
  for (let i = L - 1; i >= 0; i--) {
    const l = net.layers[i];
    if (i < L - 1) activationBackward(l.activation, d, zs[i + 1]);
    const dW = new Float32Array(l.W.length);
    const db = new Float32Array(l.b.length);
    const dx = new Float32Array(B * l.inSize);
    affineBackward(zs[i], l.W, d, dW, db, dx, B, l.inSize, l.outSize);
    grads.unshift(dW, db);
    d = dx;
  }
  return grads;
}

describe("backpropagation", () => {
  for (const activation of ["sigmoid", "relu"] as const) {
    for (const B of [1, 5]) {
      it(`should match the numerical gradient (${activation}, batch ${B})`, () => {
        const net = tiny(activation);
        const r = rand(B);
        const x = new Float32Array(B * 6).map(() => (r() > 0 ? r() : 0));
        const t = Array.from({ length: B }, (_, n) => n % 3);
        const grads = backprop(net, x, t, B);
        const params = net.layers.flatMap((l) => [l.W, l.b]);
        const h = 1e-3;
        let worst = 0;
        params.forEach((p, pi) => {
          for (let k = 0; k < p.length; k++) {
            const keep = p[k];
            p[k] = keep + h;
            const up = loss(net, x, t, B);
            p[k] = keep - h;
            const down = loss(net, x, t, B);
            p[k] = keep;
            const numeric = (up - down) / (2 * h);
            worst = Math.max(worst, Math.abs(numeric - grads[pi][k]));
          }
        });
        expect(worst, `max |numeric - backprop| = ${worst}`).toBeLessThan(2e-3);
      });
    }
  }

  it("should return the mean cross-entropy loss", () => {
    const y = new Float32Array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]);
    expect(softmaxCrossEntropyBackward(y, [2], 1, 10)).toBeCloseTo(0.510825, 5);
  });

  it("should lower the loss with Adam steps", () => {
    const net = tiny("relu");
    const x = new Float32Array(4 * 6).map(rand(3));
    const t = [0, 1, 2, 0];
    const before = loss(net, x, t, 4);
    const params = net.layers.flatMap((l) => [l.W, l.b]);
    const adam = new Adam(params);
    for (let s = 0; s < 50; s++) {
      const g = backprop(net, x, t, 4);
      adam.tick();
      params.forEach((p, i) => adam.update(i, p, g[i], 0.01));
    }
    expect(loss(net, x, t, 4)).toBeLessThan(before / 2);
  });
});
