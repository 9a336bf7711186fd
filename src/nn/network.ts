// The forward pass of chapter 3 for any stack of dense layers.
// N = batch, D = input size (784), C = classes (10).
import { affine } from "./affine";
import { type Activation, activate, softmax } from "./functions";
import { wasmKernel } from "./wasm";

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
 * What the last layer returns:
 * - `probabilities`: the network as trained (softmax applied);
 * - `logits`: the last affine output a3, before its activation;
 * - `label`: same as logits. The arg-max of softmax(a) is the arg-max of a
 *   (exp is increasing), so a caller that only wants the label skips softmax.
 */
export type OutputKind = "probabilities" | "logits" | "label";

/**
 * Batched forward pass, one matrix product per layer.
 * x is (N, D); returns (N, C).
 *
 * A network whose weights are fixed (fixWeights; decoded models are) runs in
 * the Wasm SIMD kernel where the runtime has one; otherwise, or when a
 * `matmul` is given, in JS with that matmul (affine by default).
 *
 * @example
 * const y = forward(net, images, 100); // 100 rows of 10 probabilities
 */
export function forward(net: Network, x: Float32Array, N: number, output: OutputKind = "probabilities", matmul?: typeof affine): Float32Array {
  const kernel = matmul ? undefined : kernelFor(net);
  if (kernel) return kernel.forward(net, x, N, output);
  const D = net.layers[0].inSize;
  return forwardChunks(net, N, output, matmul ?? affine, (n, rows) => x.subarray(n * D, (n + rows) * D));
}

/**
 * forward for raw pixels: x = pixels / scale, converted chunk by chunk just
 * before each chunk's pass, so a large batch never has a whole Float32 copy.
 * pixels is (N, D) bytes; returns (N, C).
 */
export function forwardPixels(net: Network, pixels: Uint8Array, N: number, scale: number, output: OutputKind = "probabilities"): Float32Array {
  const kernel = kernelFor(net);
  if (kernel) return kernel.forward(net, pixels, N, output, scale);
  const D = net.layers[0].inSize;
  return forwardChunks(net, N, output, affine, (n, rows) => pixelsToInput(pixels.subarray(n * D, (n + rows) * D), scale, buffer(0, rows * D)));
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

/**
 * Softmax over the rows of a (N, C) in place, computed as forward computes it
 * for `net` (in the Wasm kernel for a fixed network), so the softmax of its
 * logits equals its probabilities exactly.
 */
export function softmaxFor(net: Network, a: Float32Array, C: number): Float32Array {
  const kernel = kernelFor(net);
  return kernel ? kernel.activation("softmax", a, C) : softmax(a, C);
}

const fixed = new WeakSet<Network>();

/** The Wasm kernel for a fixed network (its weights may live there), else none: the JS kernels run. */
function kernelFor(net: Network) {
  return fixed.has(net) ? wasmKernel() : undefined;
}

/**
 * Declares that the weights of `net` no longer change (a decoded model), so
 * forward may copy them once into the Wasm kernel's memory and run there.
 * A network still being trained is left alone: it runs in JS.
 */
export function fixWeights(net: Network): Network {
  fixed.add(net);
  return net;
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

function forwardChunks(net: Network, N: number, output: OutputKind, matmul: typeof affine, input: (n: number, rows: number) => Float32Array): Float32Array {
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
      matmul(a, z, layer.W, layer.b, rows, layer.inSize, layer.outSize);
      if (i < last || output === "probabilities") activate(layer.activation, a, layer.outSize);
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
export function predict(net: Network, x: Float32Array, output: OutputKind = "probabilities"): Float32Array {
  return forward(net, x, 1, output);
}

/** Number of weights and biases. */
export function parameterCount(net: Network): number {
  return net.layers.reduce((s, l) => s + l.W.length + l.b.length, 0);
}
