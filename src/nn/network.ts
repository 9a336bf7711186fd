// The forward pass of chapters 3 and 7 for any stack of dense and
// convolutional layers.
// N = batch, D = input size (784), C = classes (10).
import { affine, affineI8 } from "./affine";
import type { ForwardOptions } from "./backend";
import { type ConvShape, conv, convOutput, maxPool } from "./conv";
import { type Activation, activate } from "./functions";

/**
 * One layer: a = x·W + b (dense) or a = x ∗ W + b (convolution), then its
 * activation, then its pooling if it has one. inSize and outSize are the
 * flat sizes of its input and of its output (after pooling).
 */
export interface Layer {
  /** Dense: (inSize, outSize). Convolution: (F, C, KH, KW). */
  W: Float32Array;
  b: Float32Array;
  inSize: number;
  outSize: number;
  activation: Activation;
  /** A convolution over inputs (C, IH, IW); absent for a dense layer. A dense layer after one reads its output flattened channel by channel, row by row. */
  conv?: ConvShape;
  /** Max pooling after the activation over pool × pool windows, stride pool (the book's 2). */
  pool?: number;
  /** The input is multiplied by this first: the book's Dropout at inference time, × (1 − ratio). */
  scale?: number;
  /**
   * The I8 weights a first dense layer was decoded from, q (inSize, outSize)
   * and one scale per column, W = fround(q·scale): forwardPixels runs the
   * layer on them in whole numbers (affineI8), forward on W. A backend's
   * load sets it where backend.ts integerFirstLayer holds, and only there.
   */
  int8?: { q: Int8Array; scale: Float32Array };
}

export interface Network {
  layers: Layer[];
}

/**
 * Batched forward pass in JS, one matrix product per layer.
 * x is (N, D); returns (N, C). A model decoded for serving runs in its
 * backend instead (src/nn/backend.ts); this is the JS kernels' pass, which
 * the JS backend and the trainer run.
 *
 * @example
 * const y = forward(net, images, 100); // 100 rows of 10 probabilities
 */
export function forward(net: Network, x: Float32Array, N: number, opts: ForwardOptions = {}): Float32Array {
  const D = net.layers[0].inSize;
  return forwardChunks(net, N, opts.softmax ?? true, (n, rows) => x.subarray(n * D, (n + rows) * D));
}

/**
 * forward for raw pixels: x = pixels / scale, converted chunk by chunk just
 * before each chunk's pass, so a large batch never has a whole Float32 copy.
 * pixels is (N, D) bytes; returns (N, C).
 */
export function forwardPixels(net: Network, pixels: Uint8Array, N: number, scale: number, opts: ForwardOptions = {}): Float32Array {
  const first = net.layers[0];
  const D = first.inSize;
  const chunk = (n: number, rows: number) => pixels.subarray(n * D, (n + rows) * D);
  const { int8 } = first;
  // A first layer of I8 weights takes the bytes as they are (affine.ts affineI8).
  const layer0 = int8
    ? (a: Float32Array, n: number, rows: number) => affineI8(a, chunk(n, rows), int8.q, int8.scale, first.b, rows, D, first.outSize, scale)
    : undefined;
  return forwardChunks(net, N, opts.softmax ?? true, (n, rows) => (layer0 ? NO_INPUT : pixelsToInput(chunk(n, rows), scale, buffer(0, rows * D))), layer0);
}

// What layer0 is handed in place of a converted chunk: it reads the bytes.
const NO_INPUT = new Float32Array(0);

/**
 * Raw pixel bytes to network input: x = pixel · (1 / scale), the product
 * rounded once to float32. The Wasm kernel's `pixels` computes the same, so
 * every path from bytes to floats gives bit-identical inputs (a first layer
 * of I8 weights takes the bytes themselves: affineI8).
 */
export function pixelsToInput(pixels: Uint8Array, scale: number, out: Float32Array = new Float32Array(pixels.length)): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * inv;
  return out;
}

/** Rows per chunk of a batch: each layer's activations stay in cache between one matrix product and the next. */
const CHUNK = 32;

// Activation buffers reused across layers and calls (one thread, no re-entry):
// 0 holds a converted input chunk, 1 and 2 alternate between layers, 3 holds
// a scaled input, 4 one image's convolution before pooling.
const buffers: Float32Array[] = [0, 1, 2, 3, 4].map(() => new Float32Array(0));
function buffer(i: number, n: number): Float32Array {
  if (buffers[i].length < n) buffers[i] = new Float32Array(n);
  return buffers[i].subarray(0, n);
}

// layer0, when given, computes the first layer's affine output for rows n … n + rows − 1 in place of input and its product.
function forwardChunks(
  net: Network,
  N: number,
  softmax: boolean,
  input: (n: number, rows: number) => Float32Array,
  layer0?: (a: Float32Array, n: number, rows: number) => void,
): Float32Array {
  const last = net.layers.length - 1;
  const C = net.layers[last].outSize;
  const y = new Float32Array(N * C);
  // Rows are independent: chunking changes nothing in the answer.
  for (let n = 0; n < N; n += CHUNK) {
    const rows = Math.min(CHUNK, N - n);
    let z = input(n, rows);
    net.layers.forEach((layer, i) => {
      // The last layer writes straight into its rows of y.
      const a = i === last ? y.subarray(n * C, (n + rows) * C) : buffer(1 + (i % 2), rows * layer.outSize);
      if (layer.scale !== undefined) z = scaled(z, layer.scale, buffer(3, z.length));
      if (i === 0 && layer0) layer0(a, n, rows);
      else if (layer.conv) convLayer(a, z, layer, layer.conv, rows);
      else affine(a, z, layer.W, layer.b, rows, layer.inSize, layer.outSize);
      if (!layer.conv && (i < last || softmax)) activate(layer.activation, a, layer.outSize);
      z = a;
    });
  }
  return y;
}

function scaled(z: Float32Array, s: number, out: Float32Array): Float32Array {
  for (let i = 0; i < z.length; i++) out[i] = z[i] * s;
  return out;
}

/** A convolution, its activation and its pooling, image by image so the unpooled output stays small. */
function convLayer(a: Float32Array, z: Float32Array, layer: Layer, s: ConvShape, rows: number): void {
  const [OH, OW] = convOutput(s);
  const out = s.F * OH * OW;
  const t = layer.pool ? buffer(4, out) : undefined;
  for (let r = 0; r < rows; r++) {
    const ar = a.subarray(r * layer.outSize, (r + 1) * layer.outSize);
    const c = t ?? ar;
    conv(c, z.subarray(r * layer.inSize, (r + 1) * layer.inSize), layer.W, layer.b, 1, s);
    activate(layer.activation, c, out);
    if (layer.pool) maxPool(ar, c, 1, s.F, OH, OW, layer.pool);
  }
}

/**
 * The chapter's `predict` for one image: x is (D); returns (C).
 * Written out for the book's three-layer network it reads
 * a1 = x·W1 + b1; z1 = sigmoid(a1); a2 = z1·W2 + b2; z2 = sigmoid(a2);
 * a3 = z2·W3 + b3; y = softmax(a3).
 */
export function predict(net: Network, x: Float32Array, opts: ForwardOptions = {}): Float32Array {
  return forward(net, x, 1, opts);
}

/** Number of weights and biases. */
export function parameterCount(net: Network): number {
  return net.layers.reduce((s, l) => s + l.W.length + l.b.length, 0);
}
