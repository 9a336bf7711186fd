// IEEE 754 half (F16) and bfloat16 (BF16) conversions, written out because
// Float16Array is not yet in every runtime this code runs on.
import { wasmKernel } from "../nn/wasm";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Decodes one F16 bit pattern to a number. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Encodes a number as the nearest F16 bit pattern (round to nearest even). */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Decodes one BF16 bit pattern: the top half of an F32. */
export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/**
 * Decodes `count` little-endian F16 values. Decoding runs on a model's first
 * request, in code not yet optimised, so the loop runs where it is compiled
 * ahead: in the Wasm kernel, which also proves every value finite (checking
 * the raw exponent bits); else Float16Array where the runtime has it (workerd
 * has, Node 22 has not); else a lookup table.
 */
export function decodeF16(bytes: Uint8Array, count: number): { data: Float32Array; finite?: boolean } {
  const decoded = wasmKernel()?.f16ToF32(bytes, count);
  if (decoded instanceof Float32Array) return { data: decoded, finite: true };
  // (A non-finite value: decoded as it is, for the caller's error to name.)
  const F16 = (globalThis as { Float16Array?: new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayLike<number> }).Float16Array;
  if (F16) {
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    return { data: new Float32Array(new F16(aligned.buffer, aligned.byteOffset, count)) };
  }
  const table = f16Table();
  const data = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) data[i] = table[dv.getUint16(i * 2, true)];
  return { data };
}

let F16_TABLE: Float32Array | undefined;
/** Every F16 value decoded once (256 KiB): decoding a model becomes one lookup per weight. */
function f16Table(): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = f16ToF32(h);
  }
  return F16_TABLE;
}
