// The Open Inference Protocol's binary tensor data extension, as Triton
// specifies it (docs/protocol/extension_binary_data.md of its server): the
// body is a JSON header of Inference-Header-Content-Length bytes, then the raw
// tensor of each binary input, in input order, little-endian, row-major,
// without padding; each such input's parameters.binary_data_size gives its
// length. Outputs asked for with parameters.binary_data (or the request's
// binary_data_output) come back the same way, after the answer's JSON.
// Also here: the protocol's parameters, whose values are strings, numbers
// or booleans, and the extension's own parameters typed as it says.
// N = batch, D = the model's inputs (784 for 28×28).
import type { ModelSpec } from "../model/format";
import type { Limits } from "../config";
import { type Batch, describeValue, inkScale, type PixelRule, tensorBatchSize, tensorRule } from "./input";
import { concat } from "./encoding";
import { badRequest, excerpt, ProblemError } from "./problem";
import { jsonPointer } from "./validation";

import { HEADER_LENGTH } from "./oip-names";

/** Bytes per element of each protocol datatype; a BYTES element is its own length prefix and bytes. */
const DATATYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** A parameter's value, as the protocol types it. */
export type Parameter = string | number | boolean;
type Parameters = Record<string, unknown> | null | undefined;

/** An input tensor of the JSON header: `data` is absent when its bytes follow the header. */
export interface InputHeader {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  /** Null is read as absent, as the JSON path reads it. */
  data?: unknown[] | null;
}

/** The fields of an inference request this module reads. */
export interface InferHeader {
  parameters?: Parameters;
  inputs: InputHeader[];
  outputs?: { name: string; parameters?: Parameters }[] | null;
}

/**
 * Checks one `parameters` object: each value a string, a number or a
 * boolean, as the protocol says; an object, array or null is a 400 naming it.
 */
function checkParameters(parameters: Parameters, at: string): void {
  if (parameters === undefined || parameters === null) return;
  for (const [key, v] of Object.entries(parameters)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") continue;
    badRequest(`parameter "${excerpt(key)}" is ${describeValue(v)}; a parameter's value is a string, a number or a boolean`, `${at}${jsonPointer([key])}`);
  }
}

function booleanParameter(parameters: Parameters, key: string, at: string): boolean | undefined {
  const v = parameters?.[key];
  if (v !== undefined && typeof v !== "boolean") badRequest(`parameter "${key}" is ${describeValue(v)}; send true or false`, `${at}/${key}`);
  return v;
}

/** binary_data_size: a count of bytes, or undefined when the input's data is JSON. */
function binaryDataSize(input: InputHeader, at: string): number | undefined {
  const v = input.parameters?.binary_data_size;
  if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0))
    badRequest(
      `parameter "binary_data_size" is ${describeValue(v)}; it is the input's length in bytes, a whole number ≥ 0`,
      `${at}/parameters/binary_data_size`,
    );
  return v;
}

/**
 * Checks every `parameters` of a request (its own, each input's, each
 * output's) and the extension's: binary_data_output and binary_data are
 * booleans, binary_data_size a byte count.
 */
export function checkInferParameters(request: InferHeader): void {
  checkParameters(request.parameters, "/parameters");
  booleanParameter(request.parameters, "binary_data_output", "/parameters");
  request.inputs.forEach((input, i) => {
    checkParameters(input.parameters, `/inputs/${i}/parameters`);
    binaryDataSize(input, `/inputs/${i}`);
  });
  request.outputs?.forEach((output, i) => {
    checkParameters(output.parameters, `/outputs/${i}/parameters`);
    booleanParameter(output.parameters, "binary_data", `/outputs/${i}/parameters`);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A binary-form body split in two: the JSON header, parsed, and the bytes after it. */
export interface BinaryBody {
  header: unknown;
  /** The binary data of the inputs, concatenated in input order. */
  tensors: Uint8Array;
}

/**
 * Splits a body sent with an Inference-Header-Content-Length header (its
 * value is `headerLength`). The length must be a byte count within the body,
 * and those bytes UTF-8 JSON; anything else is a 400 saying which.
 */
export function splitBinaryBody(body: Uint8Array, headerLength: string): BinaryBody {
  const value = headerLength.trim();
  if (!/^\d{1,15}$/.test(value))
    badRequest(`${HEADER_LENGTH} is "${excerpt(value)}", not a byte count; send the length in bytes of the JSON that starts the body`);
  const n = Number(value);
  if (n > body.length)
    badRequest(`${HEADER_LENGTH} is ${n}, but the body holds only ${body.length} bytes (after gzip decoding); send the length of the JSON header alone`);
  if (n === 0) badRequest(`${HEADER_LENGTH} is 0: the body must start with the JSON inference request; send its length in bytes`);
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(body.subarray(0, n)));
  } catch {
    badRequest(`the first ${n} bytes of the body (${HEADER_LENGTH}) are not a JSON inference request; check that the header gives the JSON's length in bytes`);
  }
  return { header, tensors: body.subarray(n) };
}

/**
 * Where each input's values are: the bytes of its binary data, or undefined
 * when they are JSON `data`. `tensors` is what followed the JSON header, or
 * undefined when the request had no Inference-Header-Content-Length. Each
 * binary_data_size must be the shape's element count × the datatype's size,
 * and together they must be exactly the bytes after the header.
 */
export function binaryInputs(inputs: InputHeader[], tensors: Uint8Array | undefined): (Uint8Array | undefined)[] {
  let offset = 0;
  const out = inputs.map((input, i) => {
    const at = `/inputs/${i}`;
    const name = `input ${i} ("${excerpt(input.name)}")`;
    const size = binaryDataSize(input, at);
    if (size === undefined) {
      if (input.data == null) badRequest(`${name} has no data: send "data", or its bytes after the JSON header with parameters.binary_data_size`, at);
      return undefined;
    }
    if (input.data != null) badRequest(`${name} has both "data" and parameters.binary_data_size; send its values one way: JSON or binary`, `${at}/data`);
    if (tensors === undefined)
      badRequest(
        `${name} has parameters.binary_data_size but the request has no ${HEADER_LENGTH} header; send the JSON's length in bytes with it`,
        `${at}/parameters/binary_data_size`,
      );
    const element = DATATYPE_SIZE[input.datatype];
    if (element === undefined && input.datatype !== "BYTES")
      badRequest(
        `datatype "${excerpt(input.datatype)}" is not one of the protocol's: ${[...Object.keys(DATATYPE_SIZE), "BYTES"].join(", ")}`,
        `${at}/datatype`,
      );
    if (element !== undefined) {
      const count = input.shape.reduce((a, b) => a * b, 1);
      if (size !== count * element)
        badRequest(
          `${name} has binary_data_size ${size}, but shape [${input.shape}] of ${input.datatype} is ${count} × ${element} = ${count * element} bytes`,
          `${at}/parameters/binary_data_size`,
        );
    }
    const start = offset;
    offset += size;
    return { start, size };
  });
  const have = tensors?.length ?? 0;
  if (offset > have)
    badRequest(
      `the inputs' binary_data_size add up to ${offset} bytes, but only ${have} follow the JSON header; send every input's bytes, or check ${HEADER_LENGTH}`,
    );
  if (offset < have)
    badRequest(
      `${have - offset} bytes follow the last input's binary data: ${have} bytes follow the JSON header, but the inputs' binary_data_size add up to ${offset}; check ${HEADER_LENGTH} and each binary_data_size`,
    );
  return out.map((part) => (part && tensors ? tensors.subarray(part.start, part.start + part.size) : undefined));
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Bytes ready for a typed-array view: aligned to `size`, in this machine's byte order. */
function nativeOrder(bytes: Uint8Array, size: number): Uint8Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % size === 0) return bytes;
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN) for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  return copy;
}

/** An IEEE 754 half (binary16) as a number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function badElement(input: string, i: number, value: string, rule: PixelRule, at: string): never {
  throw new ProblemError(400, { detail: `${input}, element ${i} of its binary data: ${value} is not ${rule.what}`, pointer: at, element: i });
}

/**
 * An input's binary data as the network's input, checked by the same rules
 * as JSON `data` (src/http/input.ts TENSOR_RULES): floats in [0, 1] become
 * x; whole numbers 0-255 stay bytes that the forward pass scales, so no
 * value is boxed. A bad value is a 400 naming its element.
 */
export function binaryTensorImages(input: Omit<InputHeader, "data">, bytes: Uint8Array, model: ModelSpec, limits: Limits, at: string): Batch {
  const { datatype } = input;
  const rule = tensorRule(datatype, at);
  const N = tensorBatchSize(input.shape, model, limits, at);
  const total = N * model.sizes[0];
  const name = `input "${excerpt(input.name)}"`;
  const size = DATATYPE_SIZE[datatype];
  if (bytes.length !== total * size)
    badRequest(
      `${name} has ${bytes.length} bytes of binary data; shape [${input.shape}] of ${datatype} is ${total * size}`,
      `${at}/parameters/binary_data_size`,
    );
  const data = nativeOrder(bytes, size);
  const scale = model.inputScale;
  if (datatype === "UINT8") return { N, pixels: data, scale };
  const pixels = new Uint8Array(total);
  const top = Math.min(rule.max, rule.typeMax ?? rule.max);
  const wholes = (values: ArrayLike<number>) => {
    for (let i = 0; i < total; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= top)) badElement(name, i, String(v), rule, at);
      pixels[i] = v;
    }
    return { N, pixels, scale };
  };
  const floats = (values: ArrayLike<number>) => {
    const k = inkScale(model);
    const x = new Float32Array(total);
    for (let i = 0; i < total; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 1)) badElement(name, i, String(v), rule, at);
      x[i] = v * k;
    }
    return { N, x };
  };
  const { buffer, byteOffset } = data;
  switch (datatype) {
    case "INT8":
      return wholes(new Int8Array(buffer, byteOffset, total));
    case "UINT16":
      return wholes(new Uint16Array(buffer, byteOffset, total));
    case "INT16":
      return wholes(new Int16Array(buffer, byteOffset, total));
    case "UINT32":
      return wholes(new Uint32Array(buffer, byteOffset, total));
    case "INT32":
      return wholes(new Int32Array(buffer, byteOffset, total));
    case "UINT64":
    case "INT64": {
      // Two 32-bit halves, low first: a pixel's high half is 0.
      const halves = new Uint32Array(buffer, byteOffset, total * 2);
      for (let i = 0; i < total; i++) {
        const low = halves[2 * i];
        if (halves[2 * i + 1] !== 0 || low > 255) {
          const dv = new DataView(bytes.buffer, bytes.byteOffset + 8 * i, 8);
          badElement(name, i, String(datatype === "INT64" ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true)), rule, at);
        }
        pixels[i] = low;
      }
      return { N, pixels, scale };
    }
    case "FP16": {
      const halves = new Uint16Array(buffer, byteOffset, total);
      const values = new Float32Array(total); // a half is exact in float32
      for (let i = 0; i < total; i++) values[i] = halfToNumber(halves[i]);
      return floats(values);
    }
    case "FP32":
      return floats(new Float32Array(buffer, byteOffset, total));
    default:
      return floats(new Float64Array(buffer, byteOffset, total));
  }
}

/** An output as computed: FP32 values, or INT64 labels held as 32-bit integers. */
export interface OutputTensor {
  name: string;
  shape: number[];
  datatype: "FP32" | "INT64";
  data: Float32Array | Int32Array;
}

/** An answer before it is encoded: its JSON fields and its outputs. */
export interface InferAnswer {
  head: { model_name: string; model_version?: string; id?: string };
  outputs: OutputTensor[];
}

/**
 * Which outputs go back as binary data: an output's own binary_data when the
 * request names it with one, else the request's binary_data_output (false
 * when absent). Parameters must have been checked (checkInferParameters).
 */
export function binaryOutputs(request: InferHeader, names: string[]): boolean[] {
  const all = request.parameters?.binary_data_output === true;
  return names.map((name) => {
    const own = request.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
    return typeof own === "boolean" ? own : all;
  });
}

/** An output as JSON numbers: the answer as the protocol's JSON form has it. */
function jsonOutput(o: OutputTensor) {
  return { name: o.name, shape: o.shape, datatype: o.datatype, data: Array.from(o.data) };
}

/** The JSON answer: every output as JSON, whatever was asked. */
export function jsonAnswer(answer: InferAnswer) {
  return { ...answer.head, outputs: answer.outputs.map(jsonOutput) };
}

/** An output's bytes: little-endian, row-major, without padding. */
function outputBytes(o: OutputTensor): Uint8Array {
  if (o.datatype === "FP32") {
    const f = o.data as Float32Array;
    if (LITTLE_ENDIAN) return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
    const out = new Uint8Array(f.length * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < f.length; i++) dv.setFloat32(4 * i, f[i], true);
    return out;
  }
  // INT64: the low 32 bits, then the sign extended into the high 32.
  const out = new Uint8Array(o.data.length * 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < o.data.length; i++) {
    dv.setInt32(8 * i, o.data[i], true);
    dv.setInt32(8 * i + 4, o.data[i] < 0 ? -1 : 0, true);
  }
  return out;
}

/**
 * A binary answer: the JSON answer, where each binary output has
 * parameters.binary_data_size instead of data, then those outputs' bytes in
 * output order. `headerLength` is the JSON's length in bytes, for the
 * Inference-Header-Content-Length header. Undefined when no output is binary:
 * the answer is then plain JSON.
 */
export function encodeBinaryAnswer(answer: InferAnswer, binary: boolean[]): { body: Uint8Array; headerLength: number } | undefined {
  if (!binary.some(Boolean)) return undefined;
  const parts: Uint8Array[] = [];
  const outputs = answer.outputs.map((o, i) => {
    if (!binary[i]) return jsonOutput(o);
    const bytes = outputBytes(o);
    parts.push(bytes);
    return { name: o.name, shape: o.shape, datatype: o.datatype, parameters: { binary_data_size: bytes.length } };
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...answer.head, outputs }));
  return { body: concat([json, ...parts]), headerLength: json.length };
}
