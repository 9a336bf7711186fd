// The forward pass of chapter 3 for any stack of dense layers.
// N = batch, D = input size (784), C = classes (10).
import { affine } from "./affine";
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
 * @example
 * const y = forward(net, images, 100); // 100 rows of 10 probabilities
 */
export function forward(net: Network, x: Float32Array, N: number, output: OutputKind = "probabilities", matmul: typeof affine = affine): Float32Array {
  const D = net.layers[0].inSize;
  const C = net.layers[net.layers.length - 1].outSize;
  if (N <= CHUNK) return forwardRows(net, x, N, output, matmul);
  // A large batch goes through in chunks of rows, so each layer's activations
  // stay in cache between one matrix product and the next. Rows are
  // independent: the answer is the same.
  const y = new Float32Array(N * C);
  for (let n = 0; n < N; n += CHUNK) {
    const rows = Math.min(CHUNK, N - n);
    y.set(forwardRows(net, x.subarray(n * D, (n + rows) * D), rows, output, matmul), n * C);
  }
  return y;
}

/** Rows per chunk of a large batch. */
const CHUNK = 32;

function forwardRows(net: Network, x: Float32Array, N: number, output: OutputKind, matmul: typeof affine): Float32Array {
  let z = x;
  const last = net.layers.length - 1;
  net.layers.forEach((layer, i) => {
    const a = new Float32Array(N * layer.outSize);
    matmul(a, z, layer.W, layer.b, N, layer.inSize, layer.outSize);
    if (i < last || output === "probabilities") activate(layer.activation, a, layer.outSize);
    z = a;
  });
  return z;
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
