// Gradients for training, by backpropagation (chapter 5), held to a slow
// numerical gradient by the tests (as ch05/gradient_check.py does).
// B = batch, K = layer inputs, M = layer outputs, C = classes.
import type { Activation } from "./functions";

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
export function activationBackward(name: Activation, dz: Float32Array, z: Float32Array): Float32Array {
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
export function affineBackward(
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

/** Adam (Kingma & Ba) with decoupled weight decay, one parameter tensor at a time. */
export class Adam {
  private m: Float32Array[] = [];
  private v: Float32Array[] = [];
  t = 0;
  constructor(
    params: Float32Array[],
    public beta1 = 0.9,
    public beta2 = 0.999,
    public eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** Advances the step count (bias correction); call once per batch, before that batch's updates. */
  tick(): void {
    this.t++;
  }

  update(i: number, p: Float32Array, g: Float32Array, lr: number, weightDecay = 0): void {
    const m = this.m[i];
    const v = this.v[i];
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const step = lr / c1;
    for (let k = 0; k < p.length; k++) {
      const gk = g[k];
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      p[k] -= (step * m[k]) / (Math.sqrt(v[k] / c2) + this.eps) + lr * weightDecay * p[k];
    }
  }
}
