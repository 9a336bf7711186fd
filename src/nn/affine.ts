// The dense (affine) layer, a = x·W + b, for a batch of N rows.
// N = batch, K = inputs per row, M = outputs per row.
// x is (N, K), W is (K, M), b is (M); out is (N, M). All row-major.

/**
 * The obvious triple loop: the reference every faster kernel is held to.
 * Accumulates in float64 so it is also the more accurate of the two.
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

/**
 * Otherwise identical to affineNaive, but fast: four rows of x share each
 * row of W (one load of W feeds four multiply-adds), the inner loop walks
 * memory contiguously, and zero inputs are skipped (about 80% of MNIST pixels
 * are background, so the first layer does a fifth of the work).
 */
export function affine(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
  for (let n = 0; n < N; n++) out.set(b.subarray(0, M), n * M);
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const o0 = n * M;
    const o1 = o0 + M;
    const o2 = o1 + M;
    const o3 = o2 + M;
    const x0 = n * K;
    const x1 = x0 + K;
    const x2 = x1 + K;
    const x3 = x2 + K;
    for (let k = 0; k < K; k++) {
      const a0 = x[x0 + k];
      const a1 = x[x1 + k];
      const a2 = x[x2 + k];
      const a3 = x[x3 + k];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const w = k * M;
      for (let j = 0; j < M; j++) {
        const wv = W[w + j];
        out[o0 + j] += a0 * wv;
        out[o1 + j] += a1 * wv;
        out[o2 + j] += a2 * wv;
        out[o3 + j] += a3 * wv;
      }
    }
  }
  for (; n < N; n++) {
    const o = n * M;
    const xo = n * K;
    for (let k = 0; k < K; k++) {
      const a = x[xo + k];
      if (a === 0) continue;
      const w = k * M;
      for (let j = 0; j < M; j++) out[o + j] += a * W[w + j];
    }
  }
  return out;
}
