// The weights contract of this project, on top of safetensors:
//   layers.{i}.weight  [in, out]  (x·W, as in the book)     i = 0..L-1
//   layers.{i}.bias    [out]
//   __metadata__: activations = "sigmoid,sigmoid,softmax" (one per layer),
//                 labels = JSON array of class names, input_shape = "28,28",
//                 input_scale = "255", plus free provenance keys.
import { type Activation, isActivation } from "../nn/functions";
import type { Layer, Network } from "../nn/network";
import { parseSafetensors, SafetensorsError, serializeSafetensors, type TensorToWrite } from "./safetensors";

export interface ModelFile {
  network: Network;
  metadata: Record<string, string>;
  labels: string[];
  inputShape: number[];
  /** Raw pixel bytes are divided by this to give the network's input. */
  inputScale: number;
  dtype: string;
}

export const DEFAULT_LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Checks and decodes a weights file; every error names the tensor and the problem. */
export function decodeModel(buffer: ArrayBuffer | Uint8Array): ModelFile {
  const file = parseSafetensors(buffer);
  const { tensors, metadata } = file;
  const fail = (msg: string): never => {
    throw new SafetensorsError(msg);
  };

  const L = [...tensors.keys()].filter((k) => /^layers\.\d+\.weight$/.test(k)).length;
  if (L === 0) fail('no tensor "layers.0.weight"; a model needs layers.{i}.weight [in, out] and layers.{i}.bias [out]');
  for (const name of tensors.keys()) {
    const m = /^layers\.(\d+)\.(weight|bias)$/.exec(name);
    if (!m || Number(m[1]) >= L || String(Number(m[1])) !== m[1])
      fail(`tensor "${name}" is not part of the contract; expected layers.0..${L - 1}.weight and .bias only`);
  }
  const acts = (metadata.activations ?? "").split(",").map((s) => s.trim());
  if (!metadata.activations) fail('metadata "activations" is missing; give one per layer, e.g. "sigmoid,sigmoid,softmax"');
  if (acts.length !== L) fail(`metadata "activations" lists ${acts.length} activations for ${L} layers`);

  const layers: Layer[] = [];
  let dtype = "";
  for (let i = 0; i < L; i++) {
    const W = tensors.get(`layers.${i}.weight`) ?? fail(`tensor "layers.${i}.weight" is missing`);
    const b = tensors.get(`layers.${i}.bias`) ?? fail(`tensor "layers.${i}.bias" is missing`);
    if (W.shape.length !== 2) fail(`tensor "${W.name}" has shape [${W.shape}]; a weight is 2-D [in, out]`);
    if (b.shape.length !== 1 || b.shape[0] !== W.shape[1]) fail(`tensor "${b.name}" has shape [${b.shape}]; expected [${W.shape[1]}] to match ${W.name}`);
    if (i > 0 && W.shape[0] !== layers[i - 1].outSize)
      fail(`tensor "${W.name}" takes ${W.shape[0]} inputs but layer ${i - 1} gives ${layers[i - 1].outSize}; layer shapes must chain`);
    const activation = acts[i];
    if (!isActivation(activation)) fail(`layer ${i}: unknown activation "${activation}"; use step, sigmoid, relu, identity or softmax`);
    for (const t of [W, b]) {
      for (let j = 0; j < t.data.length; j++) if (!Number.isFinite(t.data[j])) fail(`tensor "${t.name}" holds a non-finite value (${t.data[j]}) at index ${j}`);
    }
    dtype = dtype && dtype !== W.dtype ? "mixed" : W.dtype;
    layers.push({ W: W.data, b: b.data, inSize: W.shape[0], outSize: W.shape[1], activation: activation as Activation });
  }

  const outSize = layers[L - 1].outSize;
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

  const inputShape = (metadata.input_shape ?? String(layers[0].inSize)).split(",").map(Number);
  if (!inputShape.every((d) => Number.isSafeInteger(d) && d > 0) || inputShape.reduce((a, b) => a * b, 1) !== layers[0].inSize)
    fail(`metadata "input_shape" ${metadata.input_shape} does not multiply to the ${layers[0].inSize} inputs of layers.0.weight`);
  const inputScale = Number(metadata.input_scale ?? "1");
  if (!(inputScale > 0 && Number.isFinite(inputScale))) fail(`metadata "input_scale" must be a positive number, got "${metadata.input_scale}"`);

  return { network: { layers }, metadata, labels, inputShape, inputScale, dtype };
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
