// The dense (affine) layer, a = x·W + b, for a batch of N rows.
// N = batch, K = inputs per row, M = outputs per row.
// x is (N, K), W is (K, M), b is (M); out is (N, M). All row-major.

/**
 * The triple loop, written as the formula reads: out[n][j] = b[j] + Σk
 * x[n][k]·W[k][j], summed in float64 for k = 0, 1, ... The reference every
 * faster kernel is held to.
 */
export function affineNaive(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < M; j++) {
      let s = b[j];
      for (let k = 0; k < K; k++) s += x[n * K + k] * W[k * M + j];
      out[n * M + j] = s;
    }
  }
  return out;
}

// Scratch for affine, reused across calls (one thread, no re-entry): the
// offset k·M of each non-zero input of a row, and its value.
let rowOf = new Int32Array(1024);
let value = new Float32Array(1024);

/**
 * Otherwise identical to affineNaive, but fast, and summed in float32. Each
 * row first lists its non-zero inputs: a zero adds nothing to a finite sum,
 * about 80% of MNIST pixels are background and about half of ReLU outputs are
 * 0, so most of x·W is skipped. Then it adds four rows of W at a time into the output row: one load and store of out[j] per four
 * multiply-adds, and W read contiguously. (Sharing W rows across several
 * images instead measured 2x slower: a k can be skipped only when all of
 * those images are 0 there.)
 */
export function affine(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
  if (rowOf.length < K) {
    rowOf = new Int32Array(K);
    value = new Float32Array(K);
  }
  for (let n = 0; n < N; n++) {
    const o = n * M;
    const xo = n * K;
    let nz = 0;
    for (let k = 0; k < K; k++) {
      const a = x[xo + k];
      if (a !== 0) {
        rowOf[nz] = k * M;
        value[nz++] = a;
      }
    }
    for (let j = 0; j < M; j++) out[o + j] = b[j];
    let t = 0;
    for (; t + 4 <= nz; t += 4) {
      const w0 = rowOf[t];
      const w1 = rowOf[t + 1];
      const w2 = rowOf[t + 2];
      const w3 = rowOf[t + 3];
      const a0 = value[t];
      const a1 = value[t + 1];
      const a2 = value[t + 2];
      const a3 = value[t + 3];
      for (let j = 0; j < M; j++) out[o + j] += a0 * W[w0 + j] + a1 * W[w1 + j] + a2 * W[w2 + j] + a3 * W[w3 + j];
    }
    for (; t < nz; t++) {
      const w = rowOf[t];
      const a = value[t];
      for (let j = 0; j < M; j++) out[o + j] += a * W[w + j];
    }
  }
  return out;
}

// The first dense layer of an I8 model on raw pixels, in whole numbers.
// pixels is (N, K) bytes, q is (K, M) int8 with one F32 scale s[j] per
// column (W = fround(q·s), src/model/int8.ts), b is (M); out is (N, M).
// x·W + b with x = pixels / scale is b + (s / scale)·Σk pixels·q: one integer
// sum per output, exact in any order (|Σ| ≤ K·255·127 < 2^31 for K up to
// I8_MAX_INPUTS), scaled by ONE float32 expression:
//   out[n][j] = fround(b[j] + fround(fround(Σ) · fround(s[j] / fround(scale))))
// Every implementation (these two, both Wasm builds) gives the same bits.

/** The most inputs whose sum of pixel × weight products fits an i32: K·255·127 < 2^31. */
export const I8_MAX_INPUTS = Math.floor((2 ** 31 - 1) / (255 * 127));

/** The scaling above, in float32 steps (a float64 product or sum of two float32 values rounds once to the float32 one). */
function scaleSum(sum: number, b: number, s: number, scale: number): number {
  return Math.fround(b + Math.fround(Math.fround(sum) * Math.fround(s / scale)));
}

/**
 * The triple loop of the formula above: the reference the integer kernels are held to.
 * @example
 * // pixels [10 0; 255 2], q [[1 -2]; [127 3]], s [0.5 0.25], b [1 0], scale 255:
 * // sums [10 -20; 509 -504], out[1][0] = 1 + 509·fround(0.5/255)
 * affineI8Naive(new Float32Array(4), new Uint8Array([10, 0, 255, 2]), new Int8Array([1, -2, 127, 3]), new Float32Array([0.5, 0.25]), new Float32Array([1, 0]), 2, 2, 2, 255);
 */
export function affineI8Naive(
  out: Float32Array,
  pixels: Uint8Array,
  q: Int8Array,
  s: Float32Array,
  b: Float32Array,
  N: number,
  K: number,
  M: number,
  scale: number,
): Float32Array {
  const sc = Math.fround(scale);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < M; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += pixels[n * K + k] * q[k * M + j];
      out[n * M + j] = scaleSum(sum, b[j], s[j], sc);
    }
  }
  return out;
}

// Scratch for affineI8, reused across calls (one thread, no re-entry): each
// output's running sum, whole numbers below 2^31, exact in float64 (an
// Int32Array measured slower: each store converts the float64 sum back).
let sums = new Float64Array(1024);

/**
 * Otherwise identical to affineI8Naive, but fast: as affine does, each row
 * lists its non-zero pixels and adds four rows of q at a time into its sums.
 */
export function affineI8(
  out: Float32Array,
  pixels: Uint8Array,
  q: Int8Array,
  s: Float32Array,
  b: Float32Array,
  N: number,
  K: number,
  M: number,
  scale: number,
): Float32Array {
  if (rowOf.length < K) {
    rowOf = new Int32Array(K);
    value = new Float32Array(K);
  }
  if (sums.length < M) sums = new Float64Array(M);
  const sc = Math.fround(scale);
  for (let n = 0; n < N; n++) {
    const xo = n * K;
    let nz = 0;
    for (let k = 0; k < K; k++) {
      const a = pixels[xo + k];
      if (a !== 0) {
        rowOf[nz] = k * M;
        value[nz++] = a;
      }
    }
    sums.fill(0, 0, M);
    let t = 0;
    for (; t + 4 <= nz; t += 4) {
      const w0 = rowOf[t];
      const w1 = rowOf[t + 1];
      const w2 = rowOf[t + 2];
      const w3 = rowOf[t + 3];
      const a0 = value[t];
      const a1 = value[t + 1];
      const a2 = value[t + 2];
      const a3 = value[t + 3];
      for (let j = 0; j < M; j++) sums[j] += a0 * q[w0 + j] + a1 * q[w1 + j] + a2 * q[w2 + j] + a3 * q[w3 + j];
    }
    for (; t < nz; t++) {
      const w = rowOf[t];
      const a = value[t];
      for (let j = 0; j < M; j++) sums[j] += a * q[w + j];
    }
    const o = n * M;
    for (let j = 0; j < M; j++) out[o + j] = scaleSum(sums[j], b[j], s[j], sc);
  }
  return out;
}
