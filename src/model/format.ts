// The weights contract of this project, on top of safetensors:
//   layers.{i}.weight  [in, out]  (x·W, as in the book)     i = 0..L-1
//                   or [F, C, KH, KW]  a convolution's filters (book, PyTorch)
//   layers.{i}.bias    [out], or [F] for a convolution
//   layers.{i}.weight_scale  [out], or [F]: F32, only beside an I8 weight,
//                   which stands for W[k][j] = q[k][j] · scale[j] (one
//                   scale per output column, or per filter; src/model/int8.ts)
//   __metadata__: activations = "sigmoid,sigmoid,softmax" (one per layer),
//                 labels = JSON array of class names, input_shape = "28,28"
//                 ("1,28,28", channels first, when layer 0 is a convolution),
//                 input_scale = "255",
//                 layers = JSON array, one object per layer, only when a
//                   layer is more than dense: {"type": "conv", "stride": 1,
//                   "pad": 0, "pool": 2} or {"type": "dense", "scale": 0.5}
//                   (the input times 0.5 first: the book's inference dropout),
//                 plus free provenance keys.
// Order within a layer: input × scale, then x·W + b or the convolution, then
// the activation, then max pooling. A dense layer after a convolution reads
// its output flattened channel by channel, then row by row, then column.
// docs/models.md has a worked example.
import { type Backend, type LayerShape, type LoadedNetwork, NonFiniteWeightError, type WeightTensor } from "../nn/backend";
import { createBackend } from "../nn/backends";
import { type ConvShape, convOutput } from "../nn/conv";
import { type Activation, isActivation } from "../nn/functions";
import type { Network } from "../nn/network";
import { dequantizeI8, quantizeI8 } from "./int8";
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
  /** The weights' dtype ("F32", "F16", "I8", or "mixed"). */
  dtype: string;
  /** Number of weights and biases (an I8 weight's scales are not counted). */
  parameters: number;
  /** One per layer, only when a layer is more than dense (a convolution, pooling, or an input scale). */
  layers?: LayerShape[];
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
    const m = /^layers\.(\d+)\.(weight|bias|weight_scale)$/.exec(name);
    if (!m || Number(m[1]) >= L || String(Number(m[1])) !== m[1])
      fail(`tensor "${name}" is not part of the contract; expected layers.0..${L - 1}.weight and .bias (and .weight_scale beside an I8 weight) only`);
  }
  const acts = (metadata.activations ?? "").split(",").map((s) => s.trim());
  if (!metadata.activations) fail('metadata "activations" is missing; give one per layer, e.g. "sigmoid,sigmoid,softmax"');
  if (acts.length !== L) fail(`metadata "activations" lists ${acts.length} activations for ${L} layers`);
  const shapes = readLayerShapes(metadata.layers, L);
  const inputShape = (metadata.input_shape ?? "").split(",").map(Number);
  if (metadata.input_shape !== undefined && !inputShape.every((d) => Number.isSafeInteger(d) && d > 0))
    fail(`metadata "input_shape" must be positive whole numbers separated by commas, e.g. "28,28" or "1,28,28"; got "${metadata.input_shape}"`);
  const sizes: number[] = [];
  const dtypes = new Set<string>();
  // The [C, H, W] a convolution would read: the input's, then each convolution's output.
  let planes: number[] | undefined = metadata.input_shape === undefined ? undefined : inputShape.length === 2 ? [1, ...inputShape] : inputShape;
  for (let i = 0; i < L; i++) {
    const W = byName.get(`layers.${i}.weight`) ?? fail(`tensor "layers.${i}.weight" is missing`);
    const b = byName.get(`layers.${i}.bias`) ?? fail(`tensor "layers.${i}.bias" is missing`);
    const shape = shapes[i];
    if (!isActivation(acts[i])) fail(`layer ${i}: unknown activation "${acts[i]}"; use step, sigmoid, relu, identity or softmax`);
    if (shape.conv) {
      if (W.shape.length !== 4)
        fail(`tensor "${W.name}" has shape [${W.shape}]; metadata "layers" says layer ${i} is a convolution, whose weight is 4-D [F, C, KH, KW]`);
      const [F, C, KH, KW] = W.shape;
      if (planes?.length !== 3)
        fail(
          i === 0
            ? `layer 0 is a convolution: metadata "input_shape" must give channels, height and width, e.g. "1,28,28"`
            : `layer ${i} is a convolution but layer ${i - 1} is dense; a convolution takes the input or another convolution's output`,
        );
      if (C !== planes[0]) fail(`tensor "${W.name}" [F, C, KH, KW] = [${W.shape}] takes ${C} channels but its input has ${planes[0]}`);
      const conv: ConvShape = { C, IH: planes[1], IW: planes[2], F, KH, KW, stride: shape.conv.stride, pad: shape.conv.pad };
      const [OH, OW] = convOutput(conv);
      if (!(OH > 0 && OW > 0)) fail(`layer ${i}: a ${KH}×${KW} kernel does not fit the ${planes[1]}×${planes[2]} input with pad ${conv.pad}`);
      const p = shape.pool ?? 1;
      if (OH < p || OW < p) fail(`layer ${i}: pool ${p} is larger than the ${OH}×${OW} output`);
      if (i === 0) sizes.push(C * conv.IH * conv.IW);
      planes = [F, Math.floor(OH / p), Math.floor(OW / p)];
      sizes.push(planes[0] * planes[1] * planes[2]);
      shape.conv = conv;
      if (b.shape.length !== 1 || b.shape[0] !== F) fail(`tensor "${b.name}" has shape [${b.shape}]; expected [${F}], one per filter of ${W.name}`);
      if (acts[i] === "softmax") fail(`layer ${i}: softmax is for the last, dense layer, not a convolution`);
    } else {
      if (W.shape.length !== 2)
        fail(`tensor "${W.name}" has shape [${W.shape}]; a weight is 2-D [in, out] (or 4-D [F, C, KH, KW] with "type": "conv" in metadata "layers")`);
      if (b.shape.length !== 1 || b.shape[0] !== W.shape[1]) fail(`tensor "${b.name}" has shape [${b.shape}]; expected [${W.shape[1]}] to match ${W.name}`);
      if (i > 0 && W.shape[0] !== sizes[i]) fail(`tensor "${W.name}" takes ${W.shape[0]} inputs but layer ${i - 1} gives ${sizes[i]}; layer shapes must chain`);
      if (i === 0) sizes.push(W.shape[0]);
      sizes.push(W.shape[1]);
      planes = undefined;
    }
    checkScale(W, byName.get(`layers.${i}.weight_scale`), shape.conv ? W.shape[0] : W.shape[1], shape.conv ? "filter" : "output column");
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
  if (metadata.input_shape === undefined) inputShape.splice(0, inputShape.length, sizes[0]);
  if (inputShape.reduce((a, b) => a * b, 1) !== sizes[0])
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
    parameters: entries.filter((e) => !e.name.endsWith(".weight_scale")).reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0),
    ...(metadata.layers !== undefined ? { layers: shapes } : {}),
    metadata,
  };
}

/** An I8 weight needs its scales, F32 [outputs]; any other weight has none. */
function checkScale(W: HeaderEntry, scale: HeaderEntry | undefined, outputs: number, per: string): void {
  const name = W.name.replace(/weight$/, "weight_scale");
  if (W.dtype !== "I8") {
    if (scale) fail(`tensor "${name}" belongs only beside an I8 weight, but "${W.name}" is ${W.dtype}; remove it or store the weight as I8`);
    return;
  }
  const fix = "re-encode the model with `npm run quantize -- --dtype int8`";
  if (!scale) fail(`tensor "${name}" is missing: the I8 weight "${W.name}" needs one F32 scale per ${per}, shape [${outputs}]; ${fix}`);
  if (scale.dtype !== "F32" || scale.shape.length !== 1 || scale.shape[0] !== outputs)
    fail(`tensor "${name}" is ${scale.dtype} [${scale.shape}]; "${W.name}" needs F32 [${outputs}], one scale per ${per}; ${fix}`);
}

const LAYER_KEYS: Record<string, string[]> = { conv: ["type", "stride", "pad", "pool", "scale"], dense: ["type", "scale"] };

/**
 * Metadata "layers": one object per layer, {"type": "conv", "stride": s,
 * "pad": p, "pool": 2, "scale": x} or {"type": "dense", "scale": x}; stride
 * defaults to 1, pad to 0, pool and scale to none. Absent: every layer dense.
 * The convolutions' input shapes are filled in by readSpec.
 */
export function readLayerShapes(text: string | undefined, L?: number): LayerShape[] {
  // L unset: any number of layers (a command line's --layers, held to the file's layers when it is imported).
  if (text === undefined) return Array.from({ length: L ?? 0 }, () => ({}));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail('metadata "layers" must be a JSON array with one object per layer, e.g. [{"type": "conv", "stride": 1, "pad": 0, "pool": 2}, {"type": "dense"}]');
  }
  if (!Array.isArray(parsed) || (L !== undefined && parsed.length !== L))
    fail(`metadata "layers" must be a JSON array of ${L ?? "the network's"} objects, one per layer`);
  return parsed.map((o: unknown, i: number): LayerShape => {
    if (typeof o !== "object" || o === null || Array.isArray(o)) fail(`metadata "layers"[${i}] must be an object such as {"type": "dense"}`);
    const l = o as Record<string, unknown>;
    const keys = LAYER_KEYS[String(l.type)] ?? fail(`metadata "layers"[${i}].type must be "conv" or "dense", got ${JSON.stringify(l.type)}`);
    for (const k of Object.keys(l)) if (!keys.includes(k)) fail(`metadata "layers"[${i}] has "${k}"; a ${l.type} layer takes ${keys.join(", ")}`);
    const int = (k: string, min: number, dflt: number) => {
      const v = l[k] ?? dflt;
      if (!Number.isSafeInteger(v) || (v as number) < min) fail(`metadata "layers"[${i}].${k} must be a whole number ≥ ${min}, got ${JSON.stringify(l[k])}`);
      return v as number;
    };
    const out: LayerShape = {};
    if (l.type === "conv") {
      out.conv = { C: 0, IH: 0, IW: 0, F: 0, KH: 0, KW: 0, stride: int("stride", 1, 1), pad: int("pad", 0, 0) };
      if (l.pool !== undefined) out.pool = int("pool", 1, 1);
    }
    if (l.scale !== undefined) {
      if (typeof l.scale !== "number" || !Number.isFinite(l.scale))
        fail(`metadata "layers"[${i}].scale must be a finite number, got ${JSON.stringify(l.scale)}`);
      out.scale = l.scale;
    }
    return out;
  });
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
  const tensor = (name: string, conv: boolean): WeightTensor => {
    const e = byName.get(name) as HeaderEntry;
    const bytes = tensorBytes(buffer, header, e);
    if (e.dtype === "I8") return int8Tensor(e, bytes, conv);
    checkDecodable(e);
    return { name, dtype: e.dtype, bytes, values: () => decodeTensor(e.dtype, bytes) };
  };
  // Its scales are checked before any backend reads the weight: both decode it with dequantizeI8, to the same F32 values.
  const int8Tensor = (e: HeaderEntry, bytes: Uint8Array, conv: boolean): WeightTensor => {
    const s = byName.get(e.name.replace(/weight$/, "weight_scale")) as HeaderEntry;
    const scale = decodeTensor("F32", tensorBytes(buffer, header, s));
    const bad = scale.findIndex((v) => !(Number.isFinite(v) && v >= 0));
    if (bad >= 0)
      fail(
        `tensor "${s.name}" holds a ${Number.isFinite(scale[bad]) ? "negative" : "non-finite"} value (${scale[bad]}) at index ${bad}; scales are finite and 0 or more (max |w| / 127); re-encode the model with \`npm run quantize -- --dtype int8\``,
      );
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const axis = conv ? "filter" : "column";
    return {
      name: e.name,
      dtype: "I8",
      bytes,
      values: () => dequantizeI8(q, scale, axis),
      scale: { values: scale, axis },
    };
  };
  try {
    const network = backend.load(
      spec,
      spec.activations.map((_, i) => {
        const conv = spec.layers?.[i]?.conv !== undefined;
        return { W: tensor(`layers.${i}.weight`, conv), b: tensor(`layers.${i}.bias`, conv) };
      }),
    );
    return { ...spec, network };
  } catch (e) {
    if (e instanceof NonFiniteWeightError) fail(e.message);
    throw e;
  }
}

/** The dtypes encodeModel writes. */
export type WeightDType = "F32" | "F16" | "I8";

export interface EncodeOptions {
  labels?: string[];
  inputShape?: number[];
  inputScale?: number;
  /**
   * The weights' dtype. I8: each weight quantised with one F32 scale per
   * output column (per filter), its bias kept F32 (src/model/int8.ts).
   * @default "F32"
   */
  dtype?: WeightDType;
  /** Free provenance keys: command, seed, accuracy, date ... */
  extra?: Record<string, string>;
}

/** Writes a network in the contract above. */
export function encodeModel(network: Network, opts: EncodeOptions = {}): Uint8Array {
  const tensors: TensorToWrite[] = [];
  const bytes: TensorToWrite[] = [];
  network.layers.forEach(({ conv: c, W, b, inSize, outSize }, i) => {
    const shape = c ? [c.F, c.C, c.KH, c.KW] : [inSize, outSize];
    const outputs = c ? c.F : outSize;
    if (opts.dtype === "I8") {
      // The F32 biases and scales first, the bytes after them, so every F32 tensor stays 4-byte aligned.
      const { q, scale } = quantizeI8(W, outputs, c ? "filter" : "column");
      bytes.push({ name: `layers.${i}.weight`, shape, data: q, dtype: "I8" });
      tensors.push({ name: `layers.${i}.weight_scale`, shape: [outputs], data: scale });
      tensors.push({ name: `layers.${i}.bias`, shape: [outputs], data: b });
      return;
    }
    tensors.push({ name: `layers.${i}.weight`, shape, data: W, dtype: opts.dtype });
    tensors.push({ name: `layers.${i}.bias`, shape: [outputs], data: b, dtype: opts.dtype });
  });
  tensors.push(...bytes);
  const outSize = network.layers[network.layers.length - 1].outSize;
  const first = network.layers[0].conv;
  const plain = network.layers.every((l) => !l.conv && !l.pool && l.scale === undefined);
  const metadata: Record<string, string> = {
    ...opts.extra,
    activations: network.layers.map((l) => l.activation).join(","),
    labels: JSON.stringify(opts.labels ?? DEFAULT_LABELS.slice(0, outSize)),
    input_shape: (opts.inputShape ?? (first ? [first.C, first.IH, first.IW] : [28, 28])).join(","),
    input_scale: String(opts.inputScale ?? 255),
    ...(plain
      ? {}
      : {
          layers: JSON.stringify(
            network.layers.map(({ conv: c, pool, scale }) => ({
              type: c ? "conv" : "dense",
              ...(c ? { stride: c.stride, pad: c.pad } : {}),
              ...(pool ? { pool } : {}),
              ...(scale !== undefined ? { scale } : {}),
            })),
          ),
        }),
  };
  return serializeSafetensors(tensors, metadata);
}
