// Gradients for training, by backpropagation (chapter 5), held to a slow
// numerical gradient by the tests (as ch05/gradient_check.py does).
// B = batch, K = layer inputs, M = layer outputs, C = classes.
import { affine } from "./affine";
import { type Activation, activate } from "./functions";
import type { Network } from "./network";

/**
 * Softmax followed by cross-entropy, for a batch. y holds softmax outputs (B, C)
 * and is overwritten with dL/da = (y - t) / B, the famously clean gradient.
 * Returns the mean loss -log(y[t] + 1e-7), the book's guard against log(0).
 */
export function softmaxCrossEntropyBackward(y: Float32Array, t: ArrayLike<number>, B: number, C: number): number {
  let loss = 0;
  for (let n = 0; n < B; n++) {
    const o = n * C;
    loss -= Math.log(y[o + t[n]] + 1e-7);
    y[o + t[n]] -= 1;
    for (let j = 0; j < C; j++) y[o + j] /= B;
  }
  return loss / B;
}

/** Multiplies dz (the gradient at an activation's output z) by dz/da, in place. */
function activationBackward(name: Activation, dz: Float32Array, z: Float32Array): Float32Array {
  switch (name) {
    case "relu":
      for (let i = 0; i < dz.length; i++) if (!(z[i] > 0)) dz[i] = 0;
      return dz;
    case "sigmoid":
      for (let i = 0; i < dz.length; i++) dz[i] *= z[i] * (1 - z[i]);
      return dz;
    case "identity":
      return dz;
    case "step":
      return dz.fill(0); // flat almost everywhere: nothing to learn from
    case "softmax":
      throw new Error("softmax is trained only as the last layer, together with cross-entropy");
  }
}

/**
 * Gradients of a = x·W + b. x is (B, K), da is (B, M).
 * dW (K, M) = xᵀ·da and db (M) = Σ da are overwritten; dx (B, K) = da·Wᵀ is
 * written when given (the first layer does not need it).
 */
function affineBackward(
  x: Float32Array,
  W: Float32Array,
  da: Float32Array,
  dW: Float32Array,
  db: Float32Array,
  dx: Float32Array | null,
  B: number,
  K: number,
  M: number,
): void {
  dW.fill(0);
  db.fill(0);
  for (let n = 0; n < B; n++) for (let j = 0; j < M; j++) db[j] += da[n * M + j];
  // Four rows at a time: each row of dW (and of W, for dx) is loaded once per
  // four images instead of once per image.
  let n = 0;
  for (; n + 4 <= B; n += 4) {
    const d0 = n * M;
    const d1 = d0 + M;
    const d2 = d1 + M;
    const d3 = d2 + M;
    const x0 = n * K;
    for (let k = 0; k < K; k++) {
      const a0 = x[x0 + k];
      const a1 = x[x0 + K + k];
      const a2 = x[x0 + 2 * K + k];
      const a3 = x[x0 + 3 * K + k];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue; // background pixels, dead ReLUs
      const w = k * M;
      for (let j = 0; j < M; j++) dW[w + j] += a0 * da[d0 + j] + a1 * da[d1 + j] + a2 * da[d2 + j] + a3 * da[d3 + j];
    }
    if (!dx) continue;
    for (let k = 0; k < K; k++) {
      const w = k * M;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < M; j++) {
        const wv = W[w + j];
        s0 += da[d0 + j] * wv;
        s1 += da[d1 + j] * wv;
        s2 += da[d2 + j] * wv;
        s3 += da[d3 + j] * wv;
      }
      dx[x0 + k] = s0;
      dx[x0 + K + k] = s1;
      dx[x0 + 2 * K + k] = s2;
      dx[x0 + 3 * K + k] = s3;
    }
  }
  for (; n < B; n++) {
    const d = n * M;
    const xo = n * K;
    for (let k = 0; k < K; k++) {
      const a = x[xo + k];
      if (a === 0) continue;
      const w = k * M;
      for (let j = 0; j < M; j++) dW[w + j] += a * da[d + j];
    }
    if (!dx) continue;
    for (let k = 0; k < K; k++) {
      const w = k * M;
      let s = 0;
      for (let j = 0; j < M; j++) s += da[d + j] * W[w + j];
      dx[xo + k] = s;
    }
  }
}

/** Buffers for one batch size: z[0] the input, z[i+1] layer i's output, dz their gradients, and dW/db per layer. */
export interface Workspace {
  N: number;
  z: Float32Array[];
  dz: Float32Array[];
  grads: { dW: Float32Array; db: Float32Array }[];
}

/** Allocates the buffers `gradient` needs for batches of N; reuse it across batches. */
export function workspace(net: Network, N: number): Workspace {
  const sizes = [net.layers[0].inSize, ...net.layers.map((l) => l.outSize)];
  return {
    N,
    z: sizes.map((s) => new Float32Array(N * s)),
    dz: sizes.map((s) => new Float32Array(N * s)),
    grads: net.layers.map((l) => ({ dW: new Float32Array(l.W.length), db: new Float32Array(l.b.length) })),
  };
}

/**
 * One training step's gradients, the book's `gradient` (ch05 two_layer_net):
 * the forward pass keeping every activation, then backward through
 * softmax-with-loss and each layer. x is (N, D), t holds N class indices.
 * Returns the mean cross-entropy loss; per-layer dW and db are in ws.grads
 * (overwritten). The trainer runs exactly this, and the tests hold it to the
 * numerical gradient.
 *
 * @example
 * const ws = workspace(net, 100);
 * const loss = gradient(net, x, t, 100, ws); // then step with ws.grads[i].dW, .db
 */
export function gradient(net: Network, x: Float32Array, t: ArrayLike<number>, N: number, ws: Workspace = workspace(net, N)): number {
  if (ws.N !== N) throw new Error(`workspace is for batches of ${ws.N}, not ${N}: make one with workspace(net, ${N})`);
  const { z, dz, grads } = ws;
  const L = net.layers.length;
  if (x !== z[0]) z[0].set(x.subarray(0, N * net.layers[0].inSize));
  for (let i = 0; i < L; i++) {
    const l = net.layers[i];
    affine(z[i + 1], z[i], l.W, l.b, N, l.inSize, l.outSize);
    activate(l.activation, z[i + 1], l.outSize);
  }
  dz[L].set(z[L]);
  const loss = softmaxCrossEntropyBackward(dz[L], t, N, net.layers[L - 1].outSize);
  for (let i = L - 1; i >= 0; i--) {
    const l = net.layers[i];
    if (i < L - 1) activationBackward(l.activation, dz[i + 1], z[i + 1]);
    affineBackward(z[i], l.W, dz[i + 1], grads[i].dW, grads[i].db, i > 0 ? dz[i] : null, N, l.inSize, l.outSize);
  }
  return loss;
}
