// The weights contract of this project, on top of safetensors:
//   layers.{i}.weight  [in, out]  (x·W, as in the book)     i = 0..L-1
//   layers.{i}.bias    [out]
//   __metadata__: activations = "sigmoid,sigmoid,softmax" (one per layer),
//                 labels = JSON array of class names, input_shape = "28,28",
//                 input_scale = "255", plus free provenance keys.
import { type Backend, type LoadedNetwork, NonFiniteWeightError, type WeightTensor } from "../nn/backend";
import { createBackend } from "../nn/backends";
import { type Activation, isActivation } from "../nn/functions";
import type { Network } from "../nn/network";
import {
  checkDecodable,
  decodeTensor,
  type HeaderEntry,
  readSafetensorsHeader,
  SafetensorsError,
  type SafetensorsHeader,
  serializeSafetensors,
  type TensorToWrite,
  tensorBytes,
} from "./safetensors";

/** What the contract says of a model (its spec), read from the file's header alone. */
export interface ModelSpec {
  /** Layer sizes: the inputs, then each layer's outputs, e.g. [784, 50, 100, 10]. */
  sizes: number[];
  /** One per layer. */
  activations: Activation[];
  /** Class names, one per output. */
  labels: string[];
  inputShape: number[];
  /** Raw pixel bytes are divided by this to give the network's input. */
  inputScale: number;
  /** The weights' dtype ("F32", "F16", or "mixed"). */
  dtype: string;
  /** Number of weights and biases. */
  parameters: number;
  metadata: Record<string, string>;
}

/** A decoded model: its spec and the network, loaded into a backend, ready to run. */
export interface Model extends ModelSpec {
  network: LoadedNetwork;
}

export const DEFAULT_LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

function fail(msg: string): never {
  throw new SafetensorsError(msg);
}

/**
 * Reads the contract from a safetensors header, touching no tensor data:
 * layer sizes, activations, labels, input shape and scale, with their
 * defaults. Every error names the tensor or key and the problem.
 */
export function readSpec(header: SafetensorsHeader): ModelSpec {
  const { entries, metadata } = header;
  const byName = new Map(entries.map((e) => [e.name, e]));
  const L = entries.filter((e) => /^layers\.\d+\.weight$/.test(e.name)).length;
  if (L === 0) fail('no tensor "layers.0.weight"; a model needs layers.{i}.weight [in, out] and layers.{i}.bias [out]');
  for (const { name } of entries) {
    const m = /^layers\.(\d+)\.(weight|bias)$/.exec(name);
    if (!m || Number(m[1]) >= L || String(Number(m[1])) !== m[1])
      fail(`tensor "${name}" is not part of the contract; expected layers.0..${L - 1}.weight and .bias only`);
  }
  const acts = (metadata.activations ?? "").split(",").map((s) => s.trim());
  if (!metadata.activations) fail('metadata "activations" is missing; give one per layer, e.g. "sigmoid,sigmoid,softmax"');
  if (acts.length !== L) fail(`metadata "activations" lists ${acts.length} activations for ${L} layers`);
  const sizes: number[] = [];
  const dtypes = new Set<string>();
  for (let i = 0; i < L; i++) {
    const W = byName.get(`layers.${i}.weight`) ?? fail(`tensor "layers.${i}.weight" is missing`);
    const b = byName.get(`layers.${i}.bias`) ?? fail(`tensor "layers.${i}.bias" is missing`);
    if (W.shape.length !== 2) fail(`tensor "${W.name}" has shape [${W.shape}]; a weight is 2-D [in, out]`);
    if (b.shape.length !== 1 || b.shape[0] !== W.shape[1]) fail(`tensor "${b.name}" has shape [${b.shape}]; expected [${W.shape[1]}] to match ${W.name}`);
    if (i > 0 && W.shape[0] !== sizes[i]) fail(`tensor "${W.name}" takes ${W.shape[0]} inputs but layer ${i - 1} gives ${sizes[i]}; layer shapes must chain`);
    if (!isActivation(acts[i])) fail(`layer ${i}: unknown activation "${acts[i]}"; use step, sigmoid, relu, identity or softmax`);
    if (i === 0) sizes.push(W.shape[0]);
    sizes.push(W.shape[1]);
    dtypes.add(W.dtype);
  }
  const outSize = sizes[L];
  let labels: string[] = DEFAULT_LABELS.slice(0, outSize);
  if (metadata.labels !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata.labels);
    } catch {
      fail('metadata "labels" must be a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) fail('metadata "labels" must be a JSON array of strings');
    labels = parsed as string[];
  }
  if (labels.length !== outSize) fail(`metadata "labels" names ${labels.length} classes but the last layer gives ${outSize}`);
  const inputShape = (metadata.input_shape ?? String(sizes[0])).split(",").map(Number);
  if (!inputShape.every((d) => Number.isSafeInteger(d) && d > 0) || inputShape.reduce((a, b) => a * b, 1) !== sizes[0])
    fail(`metadata "input_shape" ${metadata.input_shape} does not multiply to the ${sizes[0]} inputs of layers.0.weight`);
  const inputScale = Number(metadata.input_scale ?? "1");
  if (!(inputScale > 0 && Number.isFinite(inputScale))) fail(`metadata "input_scale" must be a positive number, got "${metadata.input_scale}"`);
  return {
    sizes,
    activations: acts as Activation[],
    labels,
    inputShape,
    inputScale,
    dtype: dtypes.size === 1 ? [...dtypes][0] : "mixed",
    parameters: entries.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0),
    metadata,
  };
}

/**
 * Checks and decodes a weights file: the header first, then every value, as
 * the backend loads it (straight into the Wasm kernel's memory, where
 * forward reads it). The model owns a backend of its own unless one is given.
 */
export function decodeModel(buffer: ArrayBuffer | Uint8Array, backend: Backend = createBackend()): Model {
  const header = readSafetensorsHeader(buffer);
  const spec = readSpec(header);
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  const tensor = (name: string): WeightTensor => {
    const e = byName.get(name) as HeaderEntry;
    checkDecodable(e);
    const bytes = tensorBytes(buffer, header, e);
    return { name, dtype: e.dtype, bytes, values: () => decodeTensor(e.dtype, bytes) };
  };
  try {
    const network = backend.load(
      spec,
      spec.activations.map((_, i) => ({ W: tensor(`layers.${i}.weight`), b: tensor(`layers.${i}.bias`) })),
    );
    return { ...spec, network };
  } catch (e) {
    if (e instanceof NonFiniteWeightError) fail(e.message);
    throw e;
  }
}

export interface EncodeOptions {
  labels?: string[];
  inputShape?: number[];
  inputScale?: number;
  /** @default "F32" */
  dtype?: "F32" | "F16";
  /** Free provenance keys: command, seed, accuracy, date ... */
  extra?: Record<string, string>;
}

/** Writes a network in the contract above. */
export function encodeModel(network: Network, opts: EncodeOptions = {}): Uint8Array {
  const tensors: TensorToWrite[] = [];
  network.layers.forEach((l, i) => {
    tensors.push({ name: `layers.${i}.weight`, shape: [l.inSize, l.outSize], data: l.W, dtype: opts.dtype });
    tensors.push({ name: `layers.${i}.bias`, shape: [l.outSize], data: l.b, dtype: opts.dtype });
  });
  const outSize = network.layers[network.layers.length - 1].outSize;
  const metadata: Record<string, string> = {
    ...opts.extra,
    activations: network.layers.map((l) => l.activation).join(","),
    labels: JSON.stringify(opts.labels ?? DEFAULT_LABELS.slice(0, outSize)),
    input_shape: (opts.inputShape ?? [28, 28]).join(","),
    input_scale: String(opts.inputScale ?? 255),
  };
  return serializeSafetensors(tensors, metadata);
}
