// The trainer's backpropagation (`gradient`) held to the slow obvious
// numerical gradient, as the book's ch05/gradient_check.py does.
import { describe, expect, it } from "vitest";
import { rand } from "../../test/reference";
import { gradient, softmaxCrossEntropyBackward, workspace } from "./backward";
import { affine } from "./affine";
import { activate } from "./functions";
import type { Network } from "./network";
import { Adam } from "./optimizer";

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

/** The loss written out: forward pass, then the mean of -log y[t]. */
function loss(net: Network, x: Float32Array, t: number[], B: number): number {
  let z = x;
  for (const l of net.layers) {
    const a = affine(new Float32Array(B * l.outSize), z, l.W, l.b, B, l.inSize, l.outSize);
    z = activate(l.activation, a, l.outSize);
  }
  const C = net.layers[net.layers.length - 1].outSize;
  return -t.reduce((s, c, n) => s + Math.log(z[n * C + c] + 1e-7), 0) / B;
}

describe("gradient", () => {
  for (const activation of ["sigmoid", "relu"] as const) {
    for (const B of [1, 5]) {
      it(`should match the numerical gradient (${activation}, batch ${B})`, () => {
        const net = tiny(activation);
        const r = rand(B);
        // Inputs like pixels: about half are 0.
        const x = new Float32Array(B * 6).map(() => Math.max(0, r()));
        const t = Array.from({ length: B }, (_, n) => n % 3);
        const ws = workspace(net, B);
        const value = gradient(net, x, t, B, ws);
        expect(value).toBeCloseTo(loss(net, x, t, B), 5);
        const grads = ws.grads.flatMap((g) => [g.dW, g.db]);
        const params = net.layers.flatMap((l) => [l.W, l.b]);
        const h = 1e-4;
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

  it("should give the same gradients with a reused workspace as with a fresh one", () => {
    const net = tiny("relu");
    const r = rand(4);
    const ws = workspace(net, 4);
    const x1 = new Float32Array(4 * 6).map(() => r());
    const x2 = new Float32Array(4 * 6).map(() => r());
    gradient(net, x1, [0, 1, 2, 0], 4, ws);
    gradient(net, x2, [2, 1, 0, 1], 4, ws);
    const fresh = workspace(net, 4);
    gradient(net, x2, [2, 1, 0, 1], 4, fresh);
    expect(ws.grads).toEqual(fresh.grads);
  });

  it("should refuse a workspace made for another batch size", () => {
    const net = tiny("relu");
    expect(() => gradient(net, new Float32Array(12), [0, 1], 2, workspace(net, 3))).toThrow(/workspace\(net, 2\)/);
  });

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
    const ws = workspace(net, 4);
    for (let s = 0; s < 50; s++) {
      gradient(net, x, t, 4, ws);
      adam.tick();
      ws.grads.forEach((g, i) => {
        adam.update(2 * i, params[2 * i], g.dW, 0.01);
        adam.update(2 * i + 1, params[2 * i + 1], g.db, 0.01);
      });
    }
    expect(loss(net, x, t, 4)).toBeLessThan(before / 2);
  });
});
