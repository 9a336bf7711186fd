// Reads numpy's .npz archives (np.savez / np.savez_compressed): a zip of .npy
// files, stored or deflated. Only float arrays are decoded, to float32 in C
// order, which is all a weights importer needs. Also home to the numpy array
// helpers the pickle reader shares (dtype strings, Fortran order).
import { unzipSync } from "fflate";
import { f16ToF32 } from "../../src/model/f16";

/** A decoded numpy array: float32 values in C (row-major) order. */
export interface NdArray {
  shape: number[];
  data: Float32Array;
}

/** A file that is not a readable .npz/.npy; the message says what to do. */
export class NpyError extends Error {
  override name = "NpyError";
}

function fail(msg: string): never {
  throw new NpyError(msg);
}

/**
 * Parses a numpy dtype string such as "<f4", "f8", ">f4" or "=f4" into its
 * item size and byte order; anything but 16/32/64-bit floats is refused.
 * `byteorder` overrides the string's own (as a pickled dtype's state does).
 */
export function floatDtype(descr: string, byteorder?: string): { size: 2 | 4 | 8; littleEndian: boolean } {
  const m = /^([<>=|]?)f([248])$/.exec(descr);
  if (!m) fail(`dtype "${descr}" is not a float type; convert the array with .astype(np.float32) first`);
  const order = byteorder ?? m[1];
  return { size: Number(m[2]) as 2 | 4 | 8, littleEndian: order !== ">" };
}

/**
 * Builds an NdArray from raw bytes: decodes `count = prod(shape)` floats of
 * the given size and byte order (float64 and float16 are converted to
 * float32) and reorders Fortran-ordered data into C order.
 */
export function makeArray(raw: Uint8Array, shape: number[], dtype: { size: 2 | 4 | 8; littleEndian: boolean }, fortranOrder: boolean, what: string): NdArray {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${what}: shape (${shape.join(", ")}) is not a list of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (raw.byteLength !== count * dtype.size)
    fail(
      `${what}: ${raw.byteLength} bytes of data but shape (${shape.join(", ")}) of ${dtype.size * 8}-bit floats needs ${count * dtype.size}; the file is truncated or corrupt`,
    );
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const flat = new Float32Array(count);
  const le = dtype.littleEndian;
  if (dtype.size === 4) for (let i = 0; i < count; i++) flat[i] = dv.getFloat32(i * 4, le);
  else if (dtype.size === 8) for (let i = 0; i < count; i++) flat[i] = dv.getFloat64(i * 8, le);
  else for (let i = 0; i < count; i++) flat[i] = f16ToF32(dv.getUint16(i * 2, le));
  return { shape: [...shape], data: fortranOrder && shape.length > 1 ? fortranToC(flat, shape) : flat };
}

/** Reorders column-major (Fortran) values of the given shape into row-major (C). */
export function fortranToC(f: Float32Array, shape: number[]): Float32Array {
  const n = shape.length;
  const out = new Float32Array(f.length);
  if (f.length === 0) return out;
  // Fortran strides: 1, d0, d0*d1, ...
  const fStride = new Array<number>(n);
  let s = 1;
  for (let k = 0; k < n; k++) {
    fStride[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(n).fill(0);
  let fi = 0;
  for (let c = 0; c < out.length; c++) {
    out[c] = f[fi];
    // Advance the C-order multi-index (last axis fastest), tracking fi.
    for (let k = n - 1; k >= 0; k--) {
      idx[k]++;
      fi += fStride[k];
      if (idx[k] < shape[k]) break;
      fi -= fStride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses one .npy file (format versions 1, 2 and 3). */
export function parseNpy(bytes: Uint8Array, what = "array"): NdArray {
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail(`${what}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) fail(`${what}: .npy header is truncated`);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else fail(`${what}: .npy format version ${major}.${bytes[7]} is not supported (1, 2 or 3 are)`);
  if (start + headerLen > bytes.byteLength) fail(`${what}: .npy header runs past the end of the file`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "ascii", { fatal: false, ignoreBOM: true }).decode(bytes.subarray(start, start + headerLen));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) fail(`${what}: .npy header has no simple "descr" (structured arrays are not supported): ${header.trim()}`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) fail(`${what}: .npy header has no "fortran_order": ${header.trim()}`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) fail(`${what}: .npy header has no "shape": ${header.trim()}`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : fail(`${what}: .npy shape (${shapeText}) is not a tuple of sizes`)));
  return makeArray(bytes.subarray(start + headerLen), shape, floatDtype(descr), fortran === "True", what);
}

/**
 * Reads an .npz archive into a map from array name (the member name without
 * ".npy", as np.load gives it) to array, in archive order.
 */
export function parseNpz(bytes: Uint8Array): Map<string, NdArray> {
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) fail("not an .npz file (a zip archive starts with PK); save it with np.savez");
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    fail(`not a readable zip archive (${(e as Error).message}); save it again with np.savez`);
  }
  const out = new Map<string, NdArray>();
  for (const [member, data] of Object.entries(files)) {
    if (member.endsWith("/")) continue; // a directory entry
    if (!member.endsWith(".npy")) fail(`archive member "${member}" is not a .npy file; an .npz holds only .npy arrays`);
    const name = member.slice(0, -4);
    out.set(name, parseNpy(data, `array "${name}"`));
  }
  if (out.size === 0) fail("the .npz archive holds no arrays");
  return out;
}
