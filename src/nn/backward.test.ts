// The trainer's backpropagation (`gradient`) held to the slow obvious
// numerical gradient, as the book's ch05/gradient_check.py does.
import { describe, expect, it } from "vitest";
import { forwardNaive, rand } from "../../test/reference";
import { convBackward, gradient, maxPoolBackward, softmaxCrossEntropyBackward, workspace } from "./backward";
import { type ConvShape, col2im, convOutput, im2col } from "./conv";
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

/** The loss written out: the float64 reference forward pass, then the mean of -log y[t]. */
function loss(net: Network, x: Float32Array, t: number[], B: number): number {
  const z = forwardNaive(net, x, B);
  const C = net.layers[net.layers.length - 1].outSize;
  return -t.reduce((s, c, n) => s + Math.log(z[n * C + c] + 1e-7), 0) / B;
}

/** The largest difference between backprop's gradient and the central difference (L(p+h) − L(p−h)) / 2h, over every parameter. */
function worstGradientError(net: Network, x: Float32Array, t: number[], B: number): number {
  const ws = workspace(net, B);
  const value = gradient(net, x, t, B, ws);
  expect(value).toBeCloseTo(loss(net, x, t, B), 5);
  const grads = ws.grads.flatMap((g) => [g.dW, g.db]);
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
      worst = Math.max(worst, Math.abs((up - down) / (2 * h) - grads[pi][k]));
    }
  });
  return worst;
}

/** A small convolutional network: conv (2 channels in) → ReLU → [pool] → dense ReLU → softmax. */
function tinyConv(s: ConvShape, pool: number | undefined, hidden = 4, C = 3): Network {
  const r = rand(5);
  const [OH, OW] = convOutput(s);
  const flat = pool ? s.F * Math.floor(OH / pool) * Math.floor(OW / pool) : s.F * OH * OW;
  return {
    layers: [
      {
        W: new Float32Array(s.F * s.C * s.KH * s.KW).map(() => r() * 0.5),
        b: new Float32Array(s.F).map(() => r() * 0.1),
        inSize: s.C * s.IH * s.IW,
        outSize: flat,
        activation: "relu",
        conv: s,
        pool,
      },
      {
        W: new Float32Array(flat * hidden).map(() => r() * 0.5),
        b: new Float32Array(hidden).map(() => r() * 0.1),
        inSize: flat,
        outSize: hidden,
        activation: "relu",
      },
      { W: new Float32Array(hidden * C).map(() => r()), b: new Float32Array(C).map(() => r() * 0.1), inSize: hidden, outSize: C, activation: "softmax" },
    ],
  };
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
        const worst = worstGradientError(net, x, t, B);
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

  // Two convolutions feeding the dense layers: every conv parameter and, through the
  // second layer's dx, col2im and the pooling's routing are checked too.
  const shapes: [string, ConvShape, number | undefined][] = [
    ["3×3, pad 1, 2×2 pooling", { C: 2, IH: 6, IW: 6, F: 3, KH: 3, KW: 3, stride: 1, pad: 1 }, 2],
    ["2×3 kernel, stride 2, no pooling", { C: 2, IH: 7, IW: 6, F: 2, KH: 2, KW: 3, stride: 2, pad: 0 }, undefined],
    ["5×5, pad 2, 3×3 pooling", { C: 2, IH: 7, IW: 7, F: 2, KH: 5, KW: 5, stride: 1, pad: 2 }, 3],
  ];
  for (const [what, s, pool] of shapes) {
    it(`should match the numerical gradient through a convolution (${what})`, () => {
      const net = tinyConv(s, pool);
      // A first dense layer after the conv makes layer 0's dx unused; put a
      // convolution in front of it so that its input gradient is checked too.
      const front: ConvShape = { C: 1, IH: s.IH, IW: s.IW, F: s.C, KH: 3, KW: 3, stride: 1, pad: 1 };
      net.layers.unshift({
        W: new Float32Array(front.F * 9).map(rand(8)),
        b: new Float32Array(front.F).map(() => 0.3),
        inSize: s.IH * s.IW,
        outSize: s.C * s.IH * s.IW,
        activation: "sigmoid",
        conv: front,
      });
      const B = 3;
      const r = rand(9);
      const x = new Float32Array(B * s.IH * s.IW).map(() => Math.max(0, r()));
      const worst = worstGradientError(net, x, [0, 2, 1], B);
      expect(worst, `max |numeric - backprop| = ${worst}`).toBeLessThan(2e-3);
    });
  }

  it("should refuse a convolution as the last layer", () => {
    const net = tinyConv({ C: 2, IH: 4, IW: 4, F: 3, KH: 4, KW: 4, stride: 1, pad: 0 }, undefined);
    net.layers = [{ ...net.layers[0], activation: "softmax" }];
    expect(() => gradient(net, new Float32Array(32), [0], 1)).toThrow(/last layer must be dense/);
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

describe("convolution backward pieces", () => {
  it("should make col2im the adjoint of im2col: <im2col(x), y> = <x, col2im(y)>", () => {
    const s: ConvShape = { C: 2, IH: 5, IW: 6, F: 1, KH: 3, KW: 2, stride: 2, pad: 1 };
    const [OH, OW] = convOutput(s);
    const K = s.C * s.KH * s.KW;
    const x = new Float32Array(s.C * s.IH * s.IW).map(rand(1));
    const y = new Float32Array(K * OH * OW).map(rand(2));
    const cols = im2col(new Float32Array(y.length), x, s);
    const back = col2im(new Float32Array(x.length).fill(7), y, s);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += cols[i] * y[i];
    for (let i = 0; i < x.length; i++) rhs += x[i] * back[i];
    expect(lhs).toBeCloseTo(rhs, 4);
  });

  it("should send each window's gradient to its maximum only (first on a tie)", () => {
    // One 4×4 plane, 2×2 windows; the top-right window ties (5, 5), the bottom-right (9, 9).
    const x = new Float32Array([1, 2, 5, 5, 3, 0, 1, 0, 0, 0, 9, 8, -1, -2, 7, 9]);
    const dout = new Float32Array([10, 20, 30, 40]);
    const dx = maxPoolBackward(new Float32Array(16).fill(1), x, dout, 1, 1, 4, 4, 2);
    expect([...dx]).toEqual([0, 0, 20, 0, 10, 0, 0, 0, 30, 0, 40, 0, 0, 0, 0, 0]);
  });

  it("should leave dx unwritten when it is not asked for and still give dW and db", () => {
    const s: ConvShape = { C: 1, IH: 3, IW: 3, F: 1, KH: 2, KW: 2, stride: 1, pad: 0 };
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const da = new Float32Array([1, 0, 0, 1]);
    const dW = new Float32Array(4);
    const db = new Float32Array(1);
    const cols = im2col(new Float32Array(4 * 4), x, s);
    convBackward(cols, new Float32Array(4), da, dW, db, null, 1, s);
    // dW[ky][kx] = Σ da[oy][ox]·x[oy+ky][ox+kx] = x[ky][kx] + x[1+ky][1+kx].
    expect([...dW]).toEqual([1 + 5, 2 + 6, 4 + 8, 5 + 9]);
    expect([...db]).toEqual([2]);
  });
});
