// The forward pass of chapter 3 for any stack of dense layers.
// N = batch, D = input size (784), C = classes (10).
import { affine } from "./affine";
import type { ForwardOptions } from "./backend";
import { type Activation, activate } from "./functions";

/** One dense layer: a = x·W + b, then its activation. W is (inSize, outSize). */
export interface Layer {
  W: Float32Array;
  b: Float32Array;
  inSize: number;
  outSize: number;
  activation: Activation;
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
  const D = net.layers[0].inSize;
  return forwardChunks(net, N, opts.softmax ?? true, (n, rows) => pixelsToInput(pixels.subarray(n * D, (n + rows) * D), scale, buffer(0, rows * D)));
}

/**
 * Raw pixel bytes to network input: x = pixel · (1 / scale), the product
 * rounded once to float32. The Wasm kernel's `pixels` computes the same, so
 * every path from bytes gives bit-identical inputs.
 */
export function pixelsToInput(pixels: Uint8Array, scale: number, out: Float32Array = new Float32Array(pixels.length)): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * inv;
  return out;
}

/** Rows per chunk of a batch: each layer's activations stay in cache between one matrix product and the next. */
const CHUNK = 32;

// Activation buffers reused across layers and calls (one thread, no re-entry):
// 0 holds a converted input chunk, 1 and 2 alternate between layers.
const buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];
function buffer(i: number, n: number): Float32Array {
  if (buffers[i].length < n) buffers[i] = new Float32Array(n);
  return buffers[i].subarray(0, n);
}

function forwardChunks(net: Network, N: number, softmax: boolean, input: (n: number, rows: number) => Float32Array): Float32Array {
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
      affine(a, z, layer.W, layer.b, rows, layer.inSize, layer.outSize);
      if (i < last || softmax) activate(layer.activation, a, layer.outSize);
      z = a;
    });
  }
  return y;
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
