// Convolution and max pooling (chapter 7), channels first, for a batch of N images.
// N = batch, C = channels, IH × IW = input height × width, F = filters,
// KH × KW = kernel, OH × OW = output height × width.
// x is (N, C, IH, IW); W is (F, C, KH, KW), as the book and PyTorch store it;
// b is (F); out is (N, F, OH, OW). All row-major.
import { affine } from "./affine";

/** The shape of one convolution: its input, its filters, stride and zero padding. */
export interface ConvShape {
  C: number;
  IH: number;
  IW: number;
  F: number;
  KH: number;
  KW: number;
  /** @default 1 */
  stride: number;
  /** Zeros added on every side of the input. @default 0 */
  pad: number;
}

/** The output's height and width: OH = (IH + 2·pad − KH) / stride + 1, rounded down (the book's `conv_output_size`). */
export function convOutput(s: ConvShape): [OH: number, OW: number] {
  return [Math.floor((s.IH + 2 * s.pad - s.KH) / s.stride) + 1, Math.floor((s.IW + 2 * s.pad - s.KW) / s.stride) + 1];
}

/**
 * The seven loops, written as the formula reads: out[n][f][oy][ox] = b[f] +
 * Σ(c, ky, kx) x[n][c][oy·stride + ky − pad][ox·stride + kx − pad]·W[f][c][ky][kx],
 * a pixel outside the input counting as 0, summed in float64. The reference
 * the fast conv is held to.
 */
export function convNaive(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, s: ConvShape): Float32Array {
  const { C, IH, IW, F, KH, KW, stride, pad } = s;
  const [OH, OW] = convOutput(s);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let sum = b[f];
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * stride + ky - pad;
                const ix = ox * stride + kx - pad;
                if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) sum += x[((n * C + c) * IH + iy) * IW + ix] * W[((f * C + c) * KH + ky) * KW + kx];
              }
          out[((n * F + f) * OH + oy) * OW + ox] = sum;
        }
  return out;
}

/**
 * The book's im2col for one image, as a (K, M) matrix with K = C·KH·KW and
 * M = OH·OW: cols[(c·KH + ky)·KW + kx][oy·OW + ox] is the input pixel that
 * tap (c, ky, kx) of the filter meets at output (oy, ox), or 0 in the padding.
 * x is (C, IH, IW); cols is (K, M), its rows ld apart (M unless several
 * images' columns sit side by side, as the trainer lays out a batch).
 */
export function im2col(cols: Float32Array, x: Float32Array, s: ConvShape, ld?: number): Float32Array {
  const { C, IH, IW, KH, KW, stride, pad } = s;
  const [OH, OW] = convOutput(s);
  const step = ld ?? OH * OW;
  let k = 0;
  for (let c = 0; c < C; c++)
    for (let ky = 0; ky < KH; ky++)
      for (let kx = 0; kx < KW; kx++, k++) {
        const row = k * step;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride + ky - pad;
          const o = row + oy * OW;
          if (iy < 0 || iy >= IH) {
            cols.fill(0, o, o + OW);
            continue;
          }
          const xr = (c * IH + iy) * IW;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * stride + kx - pad;
            cols[o + ox] = ix >= 0 && ix < IW ? x[xr + ix] : 0;
          }
        }
      }
  return cols;
}

/**
 * col2im, im2col's adjoint: adds each column entry back onto the input pixel
 * it was copied from (entries in the padding are dropped). dx is (C, IH, IW)
 * and is overwritten; cols is (K, M) as im2col lays it out, rows ld apart.
 */
export function col2im(dx: Float32Array, cols: Float32Array, s: ConvShape, ld?: number): Float32Array {
  const { C, IH, IW, KH, KW, stride, pad } = s;
  const [OH, OW] = convOutput(s);
  const step = ld ?? OH * OW;
  dx.fill(0);
  let k = 0;
  for (let c = 0; c < C; c++)
    for (let ky = 0; ky < KH; ky++)
      for (let kx = 0; kx < KW; kx++, k++) {
        const row = k * step;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride + ky - pad;
          if (iy < 0 || iy >= IH) continue;
          const xr = (c * IH + iy) * IW;
          const o = row + oy * OW;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * stride + kx - pad;
            if (ix >= 0 && ix < IW) dx[xr + ix] += cols[o + ox];
          }
        }
      }
  return dx;
}

// Scratch reused across calls (one thread, no re-entry): the im2col matrix and a row of zeros for affine's bias.
let colsBuf = new Float32Array(0);
let zeros = new Float32Array(0);

/**
 * Otherwise identical to convNaive, but fast, and summed in float32: per
 * image, im2col then one matrix product W (F, K) · cols (K, M) through
 * affine (whose rows are the filters), then each filter's bias. The filters
 * are the product's left side, so out comes channels first, as the next
 * layer and the flatten read it, and W is used as the file stores it.
 */
export function conv(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, s: ConvShape): Float32Array {
  const { C, IH, IW, F, KH, KW } = s;
  const [OH, OW] = convOutput(s);
  const K = C * KH * KW;
  const M = OH * OW;
  if (colsBuf.length < K * M) colsBuf = new Float32Array(K * M);
  if (zeros.length < M) zeros = new Float32Array(M);
  const cols = colsBuf.subarray(0, K * M);
  for (let n = 0; n < N; n++) {
    im2col(cols, x.subarray(n * C * IH * IW, (n + 1) * C * IH * IW), s);
    const o = out.subarray(n * F * M, (n + 1) * F * M);
    affine(o, W, cols, zeros, F, K, M);
    for (let f = 0; f < F; f++) {
      const bf = b[f];
      for (let m = f * M; m < (f + 1) * M; m++) o[m] += bf;
    }
  }
  return out;
}

/**
 * Max pooling over size × size windows with stride `size` (the book's 2 × 2,
 * stride 2), written as it reads. x is (N, C, IH, IW); out is (N, C, ⌊IH/size⌋, ⌊IW/size⌋):
 * rows or columns left over at the edge are dropped, as the book's Pooling does.
 */
export function maxPoolNaive(out: Float32Array, x: Float32Array, N: number, C: number, IH: number, IW: number, size: number): Float32Array {
  const OH = Math.floor(IH / size);
  const OW = Math.floor(IW / size);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let m = -Infinity;
          for (let dy = 0; dy < size; dy++) for (let dx = 0; dx < size; dx++) m = Math.max(m, x[((n * C + c) * IH + oy * size + dy) * IW + ox * size + dx]);
          out[((n * C + c) * OH + oy) * OW + ox] = m;
        }
  return out;
}

/** Otherwise identical to maxPoolNaive, with the 2 × 2 window written out (the only size the book uses). */
export function maxPool(out: Float32Array, x: Float32Array, N: number, C: number, IH: number, IW: number, size: number): Float32Array {
  if (size !== 2) return maxPoolNaive(out, x, N, C, IH, IW, size);
  const OH = IH >> 1;
  const OW = IW >> 1;
  let o = 0;
  for (let p = 0; p < N * C; p++) {
    const plane = p * IH * IW;
    for (let oy = 0; oy < OH; oy++) {
      const r0 = plane + 2 * oy * IW;
      const r1 = r0 + IW;
      for (let ox = 0; ox < OW; ox++) {
        const i = 2 * ox;
        out[o++] = Math.max(x[r0 + i], x[r0 + i + 1], x[r1 + i], x[r1 + i + 1]);
      }
    }
  }
  return out;
}
