// Symmetric int8 weights with one F32 scale per output: per column of a dense
// W (in, out), per filter of a convolution's W (F, C, KH, KW). Pure: values
// in, values out. Every backend loads an I8 weight through dequantizeI8, so
// each holds the same F32 values, bit for bit.
//   scale[j] = max_k |W[k][j]| / 127   (0 for a column of zeros)
//   q[k][j]  = round(W[k][j] / scale[j]), clamped to [-127, 127]
//   W'[k][j] = fround(q[k][j] · scale[j])

/** Which axis the scales run along: "column" for a dense W (in, out), "filter" for a convolution's W (F, …). */
export type ScaleAxis = "column" | "filter";

/** Scale j of element i of a tensor of `groups` scales. */
function groupOf(axis: ScaleAxis, n: number, groups: number): (i: number) => number {
  const per = n / groups;
  return axis === "column" ? (i) => i % groups : (i) => Math.floor(i / per);
}

/**
 * Quantises W to int8 with one scale per output (`groups` of them along `axis`).
 * A group of zeros gets scale 0, and decodes to exact zeros.
 * @example
 * // W (2, 2) = [[127, -63.5], [-3.4, 2]]: scales [1, 0.5], q [[127, -127], [-3, 4]]
 * quantizeI8(new Float32Array([127, -63.5, -3.4, 2]), 2, "column");
 */
export function quantizeI8(W: Float32Array, groups: number, axis: ScaleAxis): { q: Int8Array; scale: Float32Array } {
  const group = groupOf(axis, W.length, groups);
  const max = new Float32Array(groups);
  for (let i = 0; i < W.length; i++) max[group(i)] = Math.max(max[group(i)], Math.abs(W[i]));
  const scale = max.map((m) => m / 127);
  const q = new Int8Array(W.length);
  for (let i = 0; i < W.length; i++) {
    const s = scale[group(i)];
    if (s === 0) continue;
    // Half away from zero, so w and -w get q and -q.
    const r = Math.round(Math.abs(W[i]) / s);
    q[i] = Math.sign(W[i]) * Math.min(127, r);
  }
  return { q, scale };
}

/**
 * The F32 weights an I8 tensor stands for: fround(q · scale), one scale per
 * output along `axis`. The JS backend's decode and the reference for the Wasm
 * kernel's i8ToF32, which gives the same bits.
 */
export function dequantizeI8(q: Int8Array, scale: Float32Array, axis: ScaleAxis): Float32Array {
  const out = new Float32Array(q.length);
  const G = scale.length;
  const per = q.length / G;
  // A float32 times a whole number below 2^7 is exact in float64, so fround rounds once: the float32 product
  // (the store into a Float32Array rounds the same way).
  // Row by row, or filter by filter, without a division per weight.
  if (axis === "column") for (let i = 0; i < q.length; i += G) for (let j = 0; j < G; j++) out[i + j] = q[i + j] * scale[j];
  else
    for (let f = 0; f < G; f++) {
      const s = scale[f];
      for (let i = f * per, end = i + per; i < end; i++) out[i] = q[i] * s;
    }
  return out;
}
