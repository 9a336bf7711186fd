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
