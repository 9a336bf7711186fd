// Gradients for training, by backpropagation (chapter 5), held to a slow
// numerical gradient by the tests (as ch05/gradient_check.py does).
// B = batch, K = layer inputs, M = layer outputs, C = classes; convolutions
// as in conv.ts (F filters, K = C·KH·KW taps, M = OH·OW outputs per filter).
import { affine } from "./affine";
import { type ConvShape, col2im, convOutput, im2col, maxPool } from "./conv";
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
 * Max pooling's backward pass (the book's Pooling.backward): each window's
 * gradient goes to the input that was its maximum (the first, in reading
 * order, on a tie) and 0 to the others. x is the pooling's input (N, C, IH, IW),
 * dout its output's gradient; dx (like x) is overwritten.
 */
export function maxPoolBackward(
  dx: Float32Array,
  x: Float32Array,
  dout: Float32Array,
  N: number,
  C: number,
  IH: number,
  IW: number,
  size: number,
): Float32Array {
  const OH = Math.floor(IH / size);
  const OW = Math.floor(IW / size);
  dx.fill(0);
  let o = 0;
  for (let p = 0; p < N * C; p++) {
    const plane = p * IH * IW;
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++, o++) {
        let at = plane + oy * size * IW + ox * size;
        let m = x[at];
        for (let dy = 0; dy < size; dy++)
          for (let dxx = 0; dxx < size; dxx++) {
            const i = plane + (oy * size + dy) * IW + ox * size + dxx;
            if (x[i] > m) {
              m = x[i];
              at = i;
            }
          }
        dx[at] += dout[o];
      }
  }
  return dx;
}

/** The product every pass here is made of: out = x·W + b, x (N, K), W (K, M), b (M), out (N, M), as affine.ts's. */
export type Affine = (out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number) => Float32Array;

// Scratch (one thread, no re-entry): transposes, one image's im2col matrix
// and its gradient, a product to add, a row of zeros for bias-free products.
const scratch: Float32Array[] = [0, 1, 2, 3, 4].map(() => new Float32Array(0));
function buf(i: number, n: number): Float32Array {
  if (scratch[i].length < n) scratch[i] = new Float32Array(n);
  return scratch[i].subarray(0, n);
}
let zeroRow = new Float32Array(0);
function zeros(n: number): Float32Array {
  if (zeroRow.length < n) zeroRow = new Float32Array(n);
  return zeroRow.subarray(0, n);
}

/** aᵀ: a is (rows, cols), out (cols, rows). */
function transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/**
 * Gradients of a = x·W + b (the book's Affine.backward), x (B, K), da (B, M):
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
  product: Affine = affine,
): void {
  db.fill(0);
  for (let n = 0; n < B; n++) for (let j = 0; j < M; j++) db[j] += da[n * M + j];
  product(dW, transpose(buf(0, K * B), x, B, K), da, zeros(M), K, B, M);
  if (dx) product(dx, da, transpose(buf(0, M * K), W, K, M), zeros(K), B, M, K);
}

/**
 * A convolution's forward pass (conv.ts's conv) for a batch as one matrix
 * product: cols (K, N·M) holds every image's im2col side by side (image n in
 * columns n·M …), W (F, K)·cols gives (F, N·M), which is then laid out
 * (N, F, M) with each filter's bias added. cols is kept for the backward pass.
 */
export function convForward(
  out: Float32Array,
  x: Float32Array,
  W: Float32Array,
  b: Float32Array,
  N: number,
  s: ConvShape,
  cols: Float32Array,
  product: Affine = affine,
): Float32Array {
  const { C, IH, IW, F, KH, KW } = s;
  const [OH, OW] = convOutput(s);
  const K = C * KH * KW;
  const M = OH * OW;
  const D = C * IH * IW;
  for (let n = 0; n < N; n++) im2col(cols.subarray(n * M), x.subarray(n * D, (n + 1) * D), s, N * M);
  const fm = product(buf(1, F * N * M), W, cols, zeros(N * M), F, K, N * M);
  for (let f = 0; f < F; f++) {
    const bf = b[f];
    for (let n = 0; n < N; n++) {
      const src = f * N * M + n * M;
      const dst = (n * F + f) * M;
      for (let m = 0; m < M; m++) out[dst + m] = fm[src + m] + bf;
    }
  }
  return out;
}

/**
 * Gradients of a convolution out = x ∗ W + b (the book's Convolution.backward)
 * for a batch, from the columns convForward kept (cols, (K, N·M)) and the
 * output gradient da (N, F, M): dWᵀ (K, F) = cols·daᵀ, db (F) = Σ da, and
 * dcols (K, N·M) = Wᵀ·da, which col2im adds back onto each image of dx.
 * dW and db are overwritten; dx (N, C, IH, IW) is written when given.
 */
export function convBackward(
  cols: Float32Array,
  W: Float32Array,
  da: Float32Array,
  dW: Float32Array,
  db: Float32Array,
  dx: Float32Array | null,
  N: number,
  s: ConvShape,
  product: Affine = affine,
): void {
  const { C, IH, IW, F, KH, KW } = s;
  const [OH, OW] = convOutput(s);
  const K = C * KH * KW;
  const M = OH * OW;
  const D = C * IH * IW;
  // da as (N·M, F) for dWᵀ and as (F, N·M) for dcols.
  const daT = buf(2, N * M * F);
  const daFM = buf(3, F * N * M);
  db.fill(0);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++) {
      const src = (n * F + f) * M;
      let sum = 0;
      for (let m = 0; m < M; m++) {
        const g = da[src + m];
        sum += g;
        daT[(n * M + m) * F + f] = g;
        daFM[f * N * M + n * M + m] = g;
      }
      db[f] += sum;
    }
  transpose(dW, product(buf(4, K * F), cols, daT, zeros(F), K, N * M, F), K, F);
  if (!dx) return;
  const dcols = product(buf(1, K * N * M), transpose(buf(0, F * K), W, F, K), daFM, zeros(N * M), K, F, N * M);
  for (let n = 0; n < N; n++) col2im(dx.subarray(n * D, (n + 1) * D), dcols.subarray(n * M), s, N * M);
}

/**
 * Buffers for one batch size: z[0] the input, z[i+1] layer i's output, dz
 * their gradients, and dW/db per layer. A pooled convolution also keeps its
 * activations before pooling (pre) and their gradient (dpre); empty otherwise.
 */
export interface Workspace {
  N: number;
  z: Float32Array[];
  dz: Float32Array[];
  pre: Float32Array[];
  dpre: Float32Array[];
  /** A convolution's im2col columns for the whole batch, (K, N·M); empty for a dense layer. */
  cols: Float32Array[];
  grads: { dW: Float32Array; db: Float32Array }[];
  /** The matrix product every pass runs: affine.ts's, or a faster kernel's held to the same suite. */
  product: Affine;
}

/** The size of one image's convolution output before pooling. */
function unpooledSize(s: ConvShape): number {
  const [OH, OW] = convOutput(s);
  return s.F * OH * OW;
}

/**
 * Allocates the buffers `gradient` needs for batches of N; reuse it across
 * batches. Every matrix product goes through `product` (the trainer passes
 * the Wasm kernel's affine, KernelProbe in src/nn/wasm/testing.ts).
 */
export function workspace(net: Network, N: number, product: Affine = affine): Workspace {
  const sizes = [net.layers[0].inSize, ...net.layers.map((l) => l.outSize)];
  const pre = net.layers.map((l) => new Float32Array(l.conv && l.pool ? N * unpooledSize(l.conv) : 0));
  return {
    N,
    z: sizes.map((s) => new Float32Array(N * s)),
    dz: sizes.map((s) => new Float32Array(N * s)),
    pre,
    dpre: pre.map((p) => new Float32Array(p.length)),
    cols: net.layers.map((l) => {
      if (!l.conv) return new Float32Array(0);
      const [OH, OW] = convOutput(l.conv);
      return new Float32Array(l.conv.C * l.conv.KH * l.conv.KW * N * OH * OW);
    }),
    grads: net.layers.map((l) => ({ dW: new Float32Array(l.W.length), db: new Float32Array(l.b.length) })),
    product,
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
  const L = net.layers.length;
  const { z, dz, pre, dpre, cols, grads, product } = ws;
  if (net.layers[L - 1].conv) throw new Error("the last layer must be dense: softmax-with-loss reads its outputs as class scores");
  forwardKeeping(net, x, N, ws);
  dz[L].set(z[L]);
  const loss = softmaxCrossEntropyBackward(dz[L], t, N, net.layers[L - 1].outSize);
  for (let i = L - 1; i >= 0; i--) {
    const l = net.layers[i];
    const dx = i > 0 ? dz[i] : null;
    if (l.conv) {
      let da = dz[i + 1];
      if (l.pool) {
        const [OH, OW] = convOutput(l.conv);
        da = maxPoolBackward(dpre[i], pre[i], dz[i + 1], N, l.conv.F, OH, OW, l.pool);
      }
      activationBackward(l.activation, da, l.pool ? pre[i] : z[i + 1]);
      convBackward(cols[i], l.W, da, grads[i].dW, grads[i].db, dx, N, l.conv, product);
    } else {
      if (i < L - 1) activationBackward(l.activation, dz[i + 1], z[i + 1]);
      affineBackward(z[i], l.W, dz[i + 1], grads[i].dW, grads[i].db, dx, N, l.inSize, l.outSize, product);
    }
  }
  return loss;
}

/**
 * The forward pass keeping every layer's activations in ws (z, and pre for a
 * pooled convolution); returns the last layer's output, softmax applied, (N, C).
 * gradient's first half, and what the trainer measures accuracy with.
 */
export function forwardKeeping(net: Network, x: Float32Array, N: number, ws: Workspace): Float32Array {
  if (ws.N !== N) throw new Error(`workspace is for batches of ${ws.N}, not ${N}: make one with workspace(net, ${N})`);
  const { z, pre, cols, product } = ws;
  const L = net.layers.length;
  if (x !== z[0]) z[0].set(x.subarray(0, N * net.layers[0].inSize));
  for (let i = 0; i < L; i++) {
    const l = net.layers[i];
    if (l.conv) {
      const a = l.pool ? pre[i] : z[i + 1];
      convForward(a, z[i], l.W, l.b, N, l.conv, cols[i], product);
      activate(l.activation, a, a.length);
      if (l.pool) {
        const [OH, OW] = convOutput(l.conv);
        maxPool(z[i + 1], a, N, l.conv.F, OH, OW, l.pool);
      }
    } else {
      product(z[i + 1], z[i], l.W, l.b, N, l.inSize, l.outSize);
      activate(l.activation, z[i + 1], l.outSize);
    }
  }
  return z[L];
}
