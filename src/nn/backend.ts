// What runs a network: a backend loads its weights once and answers forward
// passes. Two implement it: the Wasm SIMD kernel (src/nn/wasm, one instance
// with its own memory per backend) and the JS kernels (src/nn/backends.ts).
// Whoever creates a backend owns it: its memory goes when it is dropped.
// N = batch, D = input size, C = classes.
import { I8_MAX_INPUTS } from "./affine";
import type { ConvShape } from "./conv";
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

/** What a layer does besides its product: see Layer in network.ts. Absent or {} for a dense layer. */
export interface LayerShape {
  /** A convolution over inputs (C, IH, IW); W is (F, C, KH, KW). */
  conv?: ConvShape;
  /** Max pooling after the activation, pool × pool windows with stride pool. */
  pool?: number;
  /** The layer's input is multiplied by this first (the book's inference-time dropout). */
  scale?: number;
}

/**
 * The shape of a network: the inputs, then each layer's outputs, flat (e.g.
 * [784, 50, 100, 10]; a convolution's output counts after its pooling), one
 * activation per layer, and the layers that are more than dense.
 */
export interface NetworkSpec {
  sizes: number[];
  activations: Activation[];
  /** One per layer; absent when every layer is dense. */
  layers?: LayerShape[];
}

/** How many values layer i's weight and bias hold. */
export function tensorSizes(spec: NetworkSpec, i: number): { W: number; b: number } {
  const c = spec.layers?.[i]?.conv;
  if (c) return { W: c.F * c.C * c.KH * c.KW, b: c.F };
  return { W: spec.sizes[i] * spec.sizes[i + 1], b: spec.sizes[i + 1] };
}

/** The layer fields of a network (network.ts) from its spec. */
export function layerShape(spec: NetworkSpec, i: number): LayerShape {
  const l = spec.layers?.[i];
  return { ...(l?.conv ? { conv: { ...l.conv } } : {}), ...(l?.pool ? { pool: l.pool } : {}), ...(l?.scale !== undefined ? { scale: l.scale } : {}) };
}

/**
 * Whether a loaded network runs its first layer on raw pixels in whole
 * numbers (affine.ts affineI8, kernel.ts affineI8): I8 weights with one
 * scale per column, a dense layer whose input is not scaled, and its sums
 * within an i32. Both backends decide by this alone, at load.
 */
export function integerFirstLayer(spec: NetworkSpec, W: WeightTensor): boolean {
  const { conv, scale } = layerShape(spec, 0);
  return W.dtype === "I8" && W.scale?.axis === "column" && !conv && scale === undefined && spec.sizes[0] <= I8_MAX_INPUTS;
}

/** One weight tensor as a file holds it. The bytes are borrowed: a backend reads them during load and keeps no reference. */
export interface WeightTensor {
  /** Named in errors, e.g. "layers.0.weight". */
  name: string;
  /** The element type; the Wasm backend converts "F16" and "F32" bytes itself, and takes any other ("I8", "BF16") through values(). */
  dtype: string;
  /** Little-endian values. */
  bytes: Uint8Array;
  /** The values decoded to F32 in JS (the scalar decoders, dequantizeI8): the JS backend's input, and every backend's error path. */
  values(): Float32Array;
  /**
   * I8 only: one F32 scale per output, along W's columns (a dense layer) or
   * per filter (a convolution), so that the Wasm backend dequantises `bytes`
   * in its own memory (kernel.ts i8ToF32) to the bits values() gives; a
   * first dense layer's also run on pixels as they are, in whole numbers (affine.ts affineI8).
   */
  scale?: { values: Float32Array; axis: "column" | "filter" };
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
  const spec: NetworkSpec = {
    sizes: [net.layers[0].inSize, ...net.layers.map((l) => l.outSize)],
    activations: net.layers.map((l) => l.activation),
    layers: net.layers.map(({ conv, pool, scale }) => ({ conv, pool, scale })),
  };
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
