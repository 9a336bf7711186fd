// What runs a network: a backend loads its weights once and answers forward
// passes. Two implement it: the Wasm SIMD kernel (src/nn/wasm, one instance
// with its own memory per backend) and the JS kernels (src/nn/backends.ts).
// Whoever creates a backend owns it: its memory goes when it is dropped.
// N = batch, D = input size, C = classes.
import type { Activation } from "./functions";
import type { Network } from "./network";

export interface ForwardOptions {
  /**
   * False stops at the last layer's affine output a (the logits), skipping
   * its activation (softmax in every model here): the arg-max of softmax(a)
   * is the arg-max of a, so a caller that wants only labels skips it.
   * @default true
   */
  softmax?: boolean;
}

/** The shape of a network: the inputs, then each layer's outputs (e.g. [784, 50, 100, 10]), and one activation per layer. */
export interface NetworkSpec {
  sizes: number[];
  activations: Activation[];
}

/** One weight tensor as a file holds it. The bytes are borrowed: a backend reads them during load and keeps no reference. */
export interface WeightTensor {
  /** Named in errors, e.g. "layers.0.weight". */
  name: string;
  /** The element type; the Wasm backend converts "F16" and "F32" bytes itself. */
  dtype: string;
  /** Little-endian values. */
  bytes: Uint8Array;
  /** The values decoded to F32 in JS (the scalar decoders): the JS backend's input, and every backend's error path. */
  values(): Float32Array;
}

/** A network loaded into a backend, ready to run. */
export interface LoadedNetwork {
  readonly sizes: readonly number[];
  /** x is (N, D); returns (N, C). */
  forward(x: Float32Array, N: number, opts?: ForwardOptions): Float32Array;
  /** Raw pixel bytes (N, D), x = pixels / scale, converted chunk by chunk; returns (N, C). */
  forwardPixels(pixels: Uint8Array, N: number, scale: number, opts?: ForwardOptions): Float32Array;
  /** Softmax over the rows of a (N, C) in place, exactly as forward computes it, so softmax(logits) equals the probabilities. */
  softmax(a: Float32Array, C: number): Float32Array;
  /** A copy of the weights as plain arrays (to export them, or to run them elsewhere). */
  toNetwork(): Network;
}

export interface Backend {
  /** Says which kernel runs, e.g. "Wasm relaxed SIMD". */
  readonly name: string;
  /**
   * Loads a network, checking every weight is finite.
   * @throws NonFiniteWeightError naming the tensor and index of the first Infinity or NaN.
   */
  load(spec: NetworkSpec, layers: { W: WeightTensor; b: WeightTensor }[]): LoadedNetwork;
  /**
   * Runs every code path once (V8 compiles a function on its first call,
   * which would otherwise fall on a first request) and makes room for
   * `reserveBytes` of weights, so loading them later grows nothing.
   */
  warm(reserveBytes?: number): void;
}

/** A weight that is Infinity or NaN: a file like that is refused, never served. */
export class NonFiniteWeightError extends Error {
  override name = "NonFiniteWeightError";
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(`tensor "${tensor}" holds a non-finite value (${value}) at index ${index}`);
  }
}

/** An F32 array as a weight tensor (its bytes are a view of the same memory). */
function f32Tensor(name: string, values: Float32Array): WeightTensor {
  return { name, dtype: "F32", bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), values: () => values };
}

/**
 * Loads a network held in JS arrays (trained, or built by a test).
 * @example
 * const y = loadNetwork(createBackend(), net).forward(x, 100); // 100 rows of 10 probabilities
 */
export function loadNetwork(backend: Backend, net: Network): LoadedNetwork {
  const spec = { sizes: [net.layers[0].inSize, ...net.layers.map((l) => l.outSize)], activations: net.layers.map((l) => l.activation) };
  return backend.load(
    spec,
    net.layers.map((l, i) => ({ W: f32Tensor(`layers.${i}.weight`, l.W), b: f32Tensor(`layers.${i}.bias`, l.b) })),
  );
}

/** The index of the first Infinity or NaN in `a`, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}
