// IEEE 754 half (F16) and bfloat16 (BF16) conversions, written out because
// Float16Array is not yet in every runtime this code runs on. Pure: bytes in,
// numbers out. (Serving decodes F16 in the Wasm backend's load; these are the
// reference it is tested against, the JS backend's decoder, and the error
// path that names a bad value.)

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

/** Decodes `count` little-endian F16 values, one table lookup each. */
export function decodeF16(bytes: Uint8Array, count: number): Float32Array {
  const table = f16Table();
  const data = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) data[i] = table[dv.getUint16(i * 2, true)];
  return data;
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
