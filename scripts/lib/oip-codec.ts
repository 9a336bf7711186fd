// A client's side of the Open Inference Protocol's binary tensor data
// extension, written from Triton's specification
// (docs/protocol/extension_binary_data.md) for the tests, the fuzzer and the
// benchmark. It shares none of the protocol's code with the server's reader
// (src/http/oip-binary.ts): each checks the other. Tensors are little-endian, row-major, unpadded;
// the body is the JSON request, then each binary input's bytes in order.
import { concat } from "../../src/http/encoding";

/** Bytes per element of each fixed-size datatype. */
export const ELEMENT_BYTES: Record<string, number> = {
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

/** A number as IEEE 754 binary16 bits, rounded to nearest. */
export function toHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  let a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24); // subnormal (rounding up to 0x400 is the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (a / 2 ** e >= 2) e++;
  if (a / 2 ** e < 1) e--;
  a = Math.round((a / 2 ** e - 1) * 1024);
  if (a === 1024) {
    a = 0;
    e++;
  }
  return e > 15 ? sign | 0x7c00 : sign | ((e + 15) << 10) | a;
}

/** binary16 bits as a number. */
export function fromHalf(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return e === 0 ? s * f * 2 ** -24 : s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Values of one datatype as little-endian bytes. 64-bit integers take numbers (or bigints). */
export function packTensor(datatype: string, values: ArrayLike<number | bigint>): Uint8Array {
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined) throw new Error(`no fixed-size encoding for ${datatype}`);
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const o = i * size;
    switch (datatype) {
      case "BOOL":
      case "UINT8":
        dv.setUint8(o, Number(v));
        break;
      case "INT8":
        dv.setInt8(o, Number(v));
        break;
      case "UINT16":
        dv.setUint16(o, Number(v), true);
        break;
      case "INT16":
        dv.setInt16(o, Number(v), true);
        break;
      case "FP16":
        dv.setUint16(o, toHalf(Number(v)), true);
        break;
      case "UINT32":
        dv.setUint32(o, Number(v), true);
        break;
      case "INT32":
        dv.setInt32(o, Number(v), true);
        break;
      case "FP32":
        dv.setFloat32(o, Number(v), true);
        break;
      case "UINT64":
        dv.setBigUint64(o, BigInt(v), true);
        break;
      case "INT64":
        dv.setBigInt64(o, BigInt(v), true);
        break;
      default:
        dv.setFloat64(o, Number(v), true);
    }
  }
  return out;
}

/** Little-endian bytes of one datatype as numbers. */
export function unpackTensor(datatype: string, bytes: Uint8Array): number[] {
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined || bytes.length % size) throw new Error(`${bytes.length} bytes are not whole ${datatype} elements`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / size }, (_, i) => {
    const o = i * size;
    switch (datatype) {
      case "BOOL":
      case "UINT8":
        return dv.getUint8(o);
      case "INT8":
        return dv.getInt8(o);
      case "UINT16":
        return dv.getUint16(o, true);
      case "INT16":
        return dv.getInt16(o, true);
      case "FP16":
        return fromHalf(dv.getUint16(o, true));
      case "UINT32":
        return dv.getUint32(o, true);
      case "INT32":
        return dv.getInt32(o, true);
      case "FP32":
        return dv.getFloat32(o, true);
      case "UINT64":
        return Number(dv.getBigUint64(o, true));
      case "INT64":
        return Number(dv.getBigInt64(o, true));
      default:
        return dv.getFloat64(o, true);
    }
  });
}

/** An input: `bytes` go after the JSON header; `data` stays in it. */
export interface ClientInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  data?: unknown[];
  bytes?: Uint8Array;
}

/** A binary-form request: the body, and the Inference-Header-Content-Length to send with it. */
export interface EncodedRequest {
  body: Uint8Array;
  headerLength: number;
}

/**
 * An inference request in the binary form: each input with `bytes` gets
 * parameters.binary_data_size and its bytes after the JSON, in input order.
 */
export function encodeRequest(request: Record<string, unknown> & { inputs: ClientInput[] }): EncodedRequest {
  const tails: Uint8Array[] = [];
  const inputs = request.inputs.map(({ bytes, ...input }) => {
    if (!bytes) return input;
    tails.push(bytes);
    return { ...input, parameters: { ...input.parameters, binary_data_size: bytes.length } };
  });
  const header = new TextEncoder().encode(JSON.stringify({ ...request, inputs }));
  return { body: concat([header, ...tails]), headerLength: header.length };
}

export interface DecodedOutput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  /** The values, from JSON data or from the binary part. */
  values: number[];
  binary: boolean;
}

/**
 * An inference answer, binary or JSON: `headerLength` is its
 * Inference-Header-Content-Length (absent for a JSON answer). Throws when
 * the sizes do not account for every byte.
 */
export function decodeResponse(body: Uint8Array, headerLength?: number): { header: Record<string, unknown>; outputs: DecodedOutput[] } {
  const n = headerLength ?? body.length;
  if (n > body.length) throw new Error(`header length ${n} past the body's ${body.length} bytes`);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(0, n))) as Record<string, unknown> & {
    outputs: (Omit<DecodedOutput, "values" | "binary"> & { data?: number[] })[];
  };
  let at = n;
  const outputs = header.outputs.map((o): DecodedOutput => {
    const size = o.parameters?.binary_data_size;
    if (typeof size !== "number") return { ...o, values: (o.data ?? []).flat(Number.POSITIVE_INFINITY) as number[], binary: false };
    if (o.data !== undefined) throw new Error(`output ${o.name} has both data and binary_data_size`);
    if (at + size > body.length) throw new Error(`output ${o.name} needs ${size} bytes at ${at}; the body has ${body.length}`);
    const values = unpackTensor(o.datatype, body.subarray(at, at + size));
    at += size;
    return { ...o, values, binary: true };
  });
  if (at !== body.length) throw new Error(`${body.length - at} bytes after the last output`);
  return { header, outputs };
}
