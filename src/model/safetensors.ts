// The safetensors container: 8-byte little-endian header length N, N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian tensor bytes. The checks mirror the reference
// implementation (huggingface/safetensors) so a file we accept loads there too.
// Like the reference reader it computes nothing: bytes in, views and arrays
// out; whoever runs the weights converts them (src/nn/backend.ts).
import { bf16ToF32, decodeF16, f32ToF16 } from "./f16";

// One decoder for every header. (A runtime's first UTF-8 decode sets up its
// converter; src/startup.ts reads a header while the isolate starts.)
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Largest header the reference reader accepts. */
export const MAX_HEADER_BYTES = 100_000_000;

export type DType = "F32" | "F16" | "BF16";
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
  C64: 8,
};
const DECODABLE: readonly string[] = ["F32", "F16", "BF16"];

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Decoded values: a zero-copy view of the file when F32 and 4-byte aligned. */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  headerBytes: number;
}

/** A file that breaks the format; the message names the tensor and the fix. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

function fail(msg: string): never {
  throw new SafetensorsError(msg);
}

export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  headerBytes: number;
  /** Offset of the data section from the start of the file. */
  dataStart: number;
}

/**
 * Reads and checks the header alone, touching no tensor data: enough to
 * describe a model without decoding it. Throws SafetensorsError on anything
 * the reference implementation refuses.
 */
export function readSafetensorsHeader(buffer: ArrayBuffer | Uint8Array): SafetensorsHeader {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit; is this a safetensors file?`);
  const headerBytes = Number(n);
  if (8 + headerBytes > bytes.byteLength)
    fail(`header length ${headerBytes} runs past the end of the ${bytes.byteLength}-byte file; the file is truncated or not safetensors`);
  let text: string;
  try {
    text = UTF8.decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header must be a JSON object of tensors");
  // JSON.parse keeps the last of duplicate keys silently; the reference reader
  // refuses them, so list the top-level keys from the raw text.
  const seen = new Set<string>();
  for (const name of topLevelKeys(text)) {
    if (seen.has(name)) fail(`tensor "${name}" appears twice in the header; names must be unique`);
    seen.add(name);
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null) continue; // optional in the reference reader
      if (typeof raw !== "object" || Array.isArray(raw)) fail("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") fail(`__metadata__ key "${k}" is ${typeof v}; metadata values must be strings`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof raw !== "object" || raw === null) fail(`tensor "${name}": entry must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor "${name}": shape must be an array of non-negative integers`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor "${name}": data_offsets must be [begin, end] byte offsets`);
    const [begin, end] = data_offsets as number[];
    if (end < begin) fail(`tensor "${name}": data_offsets end ${end} is before begin ${begin}`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = count * DTYPE_BYTES[dtype];
    if (end - begin !== expected) fail(`tensor "${name}": ${end - begin} bytes of data but shape [${shape}] of ${dtype} needs ${expected}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // Offsets must tile the data section exactly: sorted, no gaps, no overlaps,
  // nothing left after the last tensor.
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.byteLength - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) fail(`tensor "${e.name}": data [${e.begin}, ${e.end}) overlaps the tensor before it`);
    if (e.begin > cursor) fail(`tensor "${e.name}": ${e.begin - cursor} unused bytes before its data at ${e.begin}; offsets must leave no gaps`);
    cursor = e.end;
  }
  if (cursor !== dataBytes)
    fail(
      cursor > dataBytes
        ? `tensor data ends at ${cursor} but the file holds only ${dataBytes} data bytes; the file is truncated`
        : `${dataBytes - cursor} bytes after the last tensor; offsets must cover the data exactly`,
    );

  return { entries, metadata, headerBytes, dataStart };
}

/**
 * Parses a safetensors file held in memory and decodes every tensor to F32;
 * `header` spares a second read when the caller has read it already.
 * Throws SafetensorsError on anything the reference implementation refuses.
 */
export function parseSafetensors(buffer: ArrayBuffer | Uint8Array, header: SafetensorsHeader = readSafetensorsHeader(buffer)): SafetensorsFile {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const { entries, metadata, headerBytes } = header;
  const tensors = new Map<string, TensorInfo>();
  for (const e of entries) {
    checkDecodable(e);
    tensors.set(e.name, { name: e.name, dtype: e.dtype as DType, shape: e.shape, data: decodeTensor(e.dtype, tensorBytes(bytes, header, e)) });
  }
  return { tensors, metadata, headerBytes };
}

/** Refuses a tensor whose dtype this project cannot decode (it reads F32, F16 and BF16). */
export function checkDecodable(e: HeaderEntry): void {
  if (!DECODABLE.includes(e.dtype)) fail(`tensor "${e.name}": dtype ${e.dtype} is not supported here; store weights as F32, F16 or BF16`);
}

/** One tensor's raw bytes: a view of the file, no copy. */
export function tensorBytes(buffer: ArrayBuffer | Uint8Array, header: SafetensorsHeader, e: HeaderEntry): Uint8Array {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  return bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
}

/** Raw little-endian F32, F16 or BF16 bytes as F32 values: a zero-copy view when F32 and 4-byte aligned. */
export function decodeTensor(dtype: string, bytes: Uint8Array): Float32Array {
  const at = bytes.byteOffset;
  if (dtype === "F32")
    // Zero-copy when aligned (and the host is little-endian, as all are here).
    return at % 4 === 0 ? new Float32Array(bytes.buffer, at, bytes.byteLength / 4) : new Float32Array(bytes.slice().buffer);
  if (dtype === "F16") return decodeF16(bytes, bytes.byteLength / 2);
  if (dtype !== "BF16") fail(`dtype ${dtype} is not supported here; store weights as F32, F16 or BF16`);
  const data = new Float32Array(bytes.byteLength / 2);
  const dv = new DataView(bytes.buffer, at, bytes.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = bf16ToF32(dv.getUint16(i * 2, true));
  return data;
}

/** Keys of the outermost object of valid JSON text, in order, repeats kept. */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(start, i + 1)));
      expectKey = false;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  /** The values; an I8 tensor's are whole numbers, given as an Int8Array. */
  data: Float32Array | Int8Array;
  /** @default "F32" */
  dtype?: "F32" | "F16" | "I8";
}

const WRITE_BYTES = { F32: 4, F16: 2, I8: 1 } as const;

/**
 * Serialises tensors (in the order given) and string metadata. The header is
 * padded with spaces to a multiple of 8 bytes, as the reference writer does,
 * so an F32 tensor written before any F16 or I8 one starts 4-byte aligned
 * and decodes without a copy.
 */
export function serializeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? "F32";
    if (dtype === "I8" && !(t.data instanceof Int8Array)) throw new TypeError(`tensor "${t.name}": I8 data must be an Int8Array (quantise it first)`);
    const bytes = t.data.length * WRITE_BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    const dtype = t.dtype ?? "F32";
    if (dtype === "F32") for (let i = 0; i < t.data.length; i++) dv.setFloat32(at + i * 4, t.data[i], true);
    else if (dtype === "F16") for (let i = 0; i < t.data.length; i++) dv.setUint16(at + i * 2, f32ToF16(t.data[i]), true);
    else out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length), at);
    at += t.data.length * WRITE_BYTES[dtype];
  }
  return out;
}
