// The dense layer and activations in WebAssembly SIMD (AssemblyScript source;
// `npm run build:wasm` compiles it twice: plain SIMD and relaxed SIMD, where
// the multiply-adds are fused).
// N = batch, K = inputs per row, M = outputs per row.
// Pointers are byte offsets into this module's memory, laid out by index.ts.
// Every buffer written or read with vectors has 16 floats of slack after its
// end: the last vector of a row may run past the row (into the next row,
// which is computed later, or into the slack), so no shape needs a scalar tail.

/** Where the kernel's static data (vexp's constants) ends: index.ts allocates from here up. */
export function heapBase(): usize {
  return __heap_base;
}

// a·b + c: one fused instruction where relaxed SIMD is enabled.
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * out = x·W + b. x is (N, K), W is (K, M), b is (M); out is (N, M), all
 * row-major and unpadded. `idx` is scratch for K entries and `val` for 2·K.
 * The same product as affineNaive (summed in f32 across registers, not f64).
 * Rows go two at a time: the two list the inputs where either of them is
 * non-zero (offset k·M·4 and the two values), and each row of W loaded for
 * a block of sixteen outputs serves both rows. Two rows rather than four:
 * MNIST images share few non-zero pixels, so four images list about twice
 * the inputs one has (298 against 151), two 1.5 times (227), and a block
 * of sixteen outputs for two rows loads as much per multiply-add as one of
 * eight for four. A last odd row goes alone: it lists its own non-zero
 * inputs, then each block of 32 outputs is summed in eight registers over
 * those inputs.
 * Either way each output is one running sum from the bias over its inputs in
 * order (the zeros of a two-row list add nothing), so a row's outputs are
 * the same bits whatever batch it came in.
 */
export function affine(out: usize, x: usize, W: usize, b: usize, N: i32, K: i32, M: i32, idx: usize, val: usize): void {
  const rowBytes = (<usize>M) << 2;
  const full = M & ~15;
  let n = 0;
  for (; n + 2 <= N; n += 2) {
    const xr = x + ((<usize>n * <usize>K) << 2);
    const u = union2(xr, K, rowBytes, idx, val);
    const o = out + ((<usize>n * <usize>M) << 2);
    // The last block first: it may write past the row into the next row's first outputs.
    const c = (<usize>full) << 2;
    tile2Last(o + c, W + c, b + c, M - full, u, idx, val, rowBytes);
    for (let j = 0; j < full; j += 16) {
      const c = (<usize>j) << 2;
      tile2x4(o + c, W + c, b + c, u, idx, val, rowBytes);
    }
  }
  for (; n < N; n++) {
    const xr = x + ((<usize>n * <usize>K) << 2);
    const o = out + ((<usize>n * <usize>M) << 2);
    const nz = gather(xr, K, rowBytes, idx, val);
    let j = 0;
    for (; M - j > 28; j += 32) {
      const c = (<usize>j) << 2;
      block8(o + c, W + c, W + c + 64, b + c, nz, idx, val);
    }
    if (j < M) {
      const c = (<usize>j) << 2;
      blockTail(o + c, W + c, W + c + 64, b + c, (M - j + 3) >> 2, nz, idx, val);
    }
  }
}

/**
 * W (K, M) packed for affinePacked into dst: the outputs in panels of
 * sixteen, each panel's K rows of sixteen floats side by side, the last
 * panel padded with zeros; dst is (⌈M/16⌉, K, 16).
 */
export function pack(dst: usize, W: usize, K: i32, M: i32): void {
  let d = dst;
  for (let j = 0; j < M; j += 16) {
    const w = min(16, M - j);
    for (let k = 0; k < K; k++) {
      const s = W + ((<usize>k * <usize>M + <usize>j) << 2);
      // A whole panel row is four vector moves: a model's first decode packs
      // every layer in one call, which runs in V8's baseline tier to its end.
      if (w == 16) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        v128.store(d, v128.load(s, 32), 32);
        v128.store(d, v128.load(s, 48), 48);
      } else for (let i = 0; i < 16; i++) store<f32>(d + ((<usize>i) << 2), i < w ? load<f32>(s + ((<usize>i) << 2)) : 0);
      d += 64;
    }
  }
}

/**
 * affine over W packed by `pack` (Wp is (⌈M/16⌉, K, 16)): the same sums in the
 * same order, so the same bits as affine. A block of sixteen outputs reads
 * one panel, K·64 bytes in a row, instead of 64 bytes every M·4: each input's
 * weights for the block are one aligned cache line, and the rows an image
 * lists sit on a few pages rather than one page every one or two rows.
 * Pairs of rows go in groups of GROUP: each pair lists its inputs once, then
 * STRIPE panels at a time serve every pair of the group, so a stripe of W
 * (K·64·STRIPE bytes, 100 KB for K = 784) is read from memory once per group
 * and from the L2 cache for the other pairs, where a pair at a time reads
 * the whole of W (1.5 MB for mnist-mlp's first layer) per pair.
 * `idx` is scratch for GROUP + GROUP·K entries and `val` for 2·GROUP·K floats.
 */
export function affinePacked(out: usize, x: usize, Wp: usize, b: usize, N: i32, K: i32, M: i32, idx: usize, val: usize): void {
  const rowOut = (<usize>M) << 2;
  const panel = (<usize>K) << 6;
  const full = M & ~15;
  const last = Wp + (<usize>(full >> 4)) * panel;
  const listI = (<usize>K) << 2;
  const listV = (<usize>K) << 3;
  // idx starts with each pair's count; the pairs' lists follow, K entries apart.
  const lists = idx + (<usize>GROUP << 2);
  let n = 0;
  for (; n + 2 <= N; n += 2 * GROUP) {
    const g = min(GROUP, (N - n) >> 1);
    for (let p = 0; p < g; p++) {
      const xr = x + ((<usize>(n + 2 * p) * <usize>K) << 2);
      const u = union2(xr, K, 64, lists + <usize>p * listI, val + <usize>p * listV);
      store<i32>(idx + ((<usize>p) << 2), u);
      // The last block first: it may write past the row into the next row's first outputs.
      const o = out + ((<usize>(n + 2 * p) * <usize>M) << 2);
      const c = (<usize>full) << 2;
      tile2Last(o + c, last, b + c, M - full, u, lists + <usize>p * listI, val + <usize>p * listV, rowOut);
    }
    for (let s = 0; s < full; s += 16 * STRIPE) {
      const e = min(full, s + 16 * STRIPE);
      for (let p = 0; p < g; p++) {
        const u = load<i32>(idx + ((<usize>p) << 2));
        const o = out + ((<usize>(n + 2 * p) * <usize>M) << 2);
        let Wj = Wp + (<usize>(s >> 4)) * panel;
        for (let j = s; j < e; j += 16) {
          const c = (<usize>j) << 2;
          tile2x4(o + c, Wj, b + c, u, lists + <usize>p * listI, val + <usize>p * listV, rowOut);
          Wj += panel;
        }
      }
    }
  }
  n = N & ~1;
  if (n < N) {
    const xr = x + ((<usize>n * <usize>K) << 2);
    const o = out + ((<usize>n * <usize>M) << 2);
    const nz = gather(xr, K, 64, idx, val);
    let Wj = Wp;
    let j = 0;
    for (; M - j > 28; j += 32) {
      const c = (<usize>j) << 2;
      block8(o + c, Wj, Wj + panel, b + c, nz, idx, val);
      Wj += 2 * panel;
    }
    if (j < M) {
      const c = (<usize>j) << 2;
      blockTail(o + c, Wj, Wj + panel, b + c, (M - j + 3) >> 2, nz, idx, val);
    }
  }
}

/** Pairs of rows that share each stripe of W (affinePacked); index.ts sizes the scratch for it. */
const GROUP = 16;
/** Panels of W per stripe (affinePacked). */
const STRIPE = 2;
/** Bytes of a pair of inputs' row of sixteen outputs in affineI8's panels (packI8). */
const PAIR_ROW: usize = 32;

// Lists the inputs where either of two rows (K apart) is non-zero: the offset
// of W's row (k·rowBytes) and the two values side by side. Sixteen inputs at
// a time are skipped when all 32 values are zero: the margins of an image,
// runs a predictor can follow. Inside sixteen, four at a time are listed
// with no branch on their values, which a predictor cannot guess.
@inline
function union2(xr: usize, K: i32, rowBytes: usize, idx: usize, val: usize): i32 {
  const rb = (<usize>K) << 2;
  let u = 0;
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const p = xr + ((<usize>k) << 2);
    const q = p + rb;
    const any = v128.or(
      v128.or(v128.or(v128.load(p), v128.load(q)), v128.or(v128.load(p, 16), v128.load(q, 16))),
      v128.or(v128.or(v128.load(p, 32), v128.load(q, 32)), v128.or(v128.load(p, 48), v128.load(q, 48))),
    );
    if (!v128.any_true(any)) continue;
    const at = (<usize>k) * rowBytes;
    u = list4(idx, val, u, at, rowBytes, v128.load(p), v128.load(q));
    u = list4(idx, val, u, at + 4 * rowBytes, rowBytes, v128.load(p, 16), v128.load(q, 16));
    u = list4(idx, val, u, at + 8 * rowBytes, rowBytes, v128.load(p, 32), v128.load(q, 32));
    u = list4(idx, val, u, at + 12 * rowBytes, rowBytes, v128.load(p, 48), v128.load(q, 48));
  }
  for (; k + 4 <= K; k += 4) {
    const p = xr + ((<usize>k) << 2);
    const a = v128.load(p);
    const b = v128.load(p + rb);
    if (v128.any_true(v128.or(a, b))) u = list4(idx, val, u, (<usize>k) * rowBytes, rowBytes, a, b);
  }
  for (; k < K; k++) {
    const p = xr + ((<usize>k) << 2);
    const a = load<u32>(p);
    const c = load<u32>(p + rb);
    store<u32>(idx + ((<usize>u) << 2), <u32>((<usize>k) * rowBytes));
    store<u32>(val + ((<usize>u) << 3), a);
    store<u32>(val + ((<usize>u) << 3), c, 4);
    u += <i32>((a | c) != 0);
  }
  return u;
}

// Four inputs of two rows (a and b) onto union2's list, from offset at.
@inline
function list4(idx: usize, val: usize, u: i32, at: usize, rowBytes: usize, a: v128, b: v128): i32 {
  const zero = i64x2.splat(0);
  const lo = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const hi = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const m = i64x2.bitmask(i64x2.ne(lo, zero)) | (i64x2.bitmask(i64x2.ne(hi, zero)) << 2);
  // Stored whatever they hold; the count moves on past the non-zero ones only.
  u = keep2(idx, val, u, at, lo, 0, m & 1);
  u = keep2(idx, val, u, at + rowBytes, lo, 1, (m >> 1) & 1);
  u = keep2(idx, val, u, at + 2 * rowBytes, hi, 0, (m >> 2) & 1);
  return keep2(idx, val, u, at + 3 * rowBytes, hi, 1, m >> 3);
}

@inline
function keep2(idx: usize, val: usize, u: i32, at: usize, t: v128, lane: u8, nz: i32): i32 {
  store<u32>(idx + ((<usize>u) << 2), <u32>at);
  if (lane == 0) v128.store64_lane(val + ((<usize>u) << 3), t, 0);
  else v128.store64_lane(val + ((<usize>u) << 3), t, 1);
  return u + nz;
}

// The last r (0-15) outputs of two rows, as a block of four, eight or sixteen
// (o, Wj and bj at the block's first output).
@inline
function tile2Last(o: usize, Wj: usize, bj: usize, r: i32, u: i32, idx: usize, val: usize, rowOut: usize): void {
  if (r > 8) tile2x4(o, Wj, bj, u, idx, val, rowOut);
  else if (r > 4) tile2x2(o, Wj, bj, u, idx, val, rowOut);
  else if (r > 0) tile2x1(o, Wj, bj, u, idx, val, rowOut);
}

// Sixteen outputs of two rows (rowOut bytes apart in out) over the u listed inputs.
@inline
function tile2x4(o: usize, Wj: usize, bj: usize, u: i32, idx: usize, val: usize, rowOut: usize): void {
  let p0 = v128.load(bj);
  let p1 = v128.load(bj, 16);
  let p2 = v128.load(bj, 32);
  let p3 = v128.load(bj, 48);
  let q0 = p0;
  let q1 = p1;
  let q2 = p2;
  let q3 = p3;
  // Pointers that step, rather than t scaled on every pass: the loop is bound
  // by its instruction count. (Two inputs a pass measured slower in V8.)
  const end = idx + ((<usize>u) << 2);
  for (let i = idx, v = val; i < end; i += 4, v += 8) {
    const w = Wj + <usize>load<u32>(i);
    const e = v128.load32_splat(v);
    const f = v128.load32_splat(v, 4);
    let w0 = v128.load(w);
    p0 = madd(e, w0, p0);
    q0 = madd(f, w0, q0);
    w0 = v128.load(w, 16);
    p1 = madd(e, w0, p1);
    q1 = madd(f, w0, q1);
    w0 = v128.load(w, 32);
    p2 = madd(e, w0, p2);
    q2 = madd(f, w0, q2);
    w0 = v128.load(w, 48);
    p3 = madd(e, w0, p3);
    q3 = madd(f, w0, q3);
  }
  v128.store(o, p0);
  v128.store(o, p1, 16);
  v128.store(o, p2, 32);
  v128.store(o, p3, 48);
  const oq = o + rowOut;
  v128.store(oq, q0);
  v128.store(oq, q1, 16);
  v128.store(oq, q2, 32);
  v128.store(oq, q3, 48);
}

@inline
function tile2x2(o: usize, Wj: usize, bj: usize, u: i32, idx: usize, val: usize, rowOut: usize): void {
  let p0 = v128.load(bj);
  let p1 = v128.load(bj, 16);
  let q0 = p0;
  let q1 = p1;
  for (let t = 0; t < u; t++) {
    const w = Wj + <usize>load<u32>(idx + ((<usize>t) << 2));
    const v = val + ((<usize>t) << 3);
    const e = v128.load32_splat(v);
    const f = v128.load32_splat(v, 4);
    const w0 = v128.load(w);
    const w1 = v128.load(w, 16);
    p0 = madd(e, w0, p0);
    q0 = madd(f, w0, q0);
    p1 = madd(e, w1, p1);
    q1 = madd(f, w1, q1);
  }
  v128.store(o, p0);
  v128.store(o, p1, 16);
  v128.store(o + rowOut, q0);
  v128.store(o + rowOut, q1, 16);
}

@inline
function tile2x1(o: usize, Wj: usize, bj: usize, u: i32, idx: usize, val: usize, rowOut: usize): void {
  let p0 = v128.load(bj);
  let q0 = p0;
  for (let t = 0; t < u; t++) {
    const w0 = v128.load(Wj + <usize>load<u32>(idx + ((<usize>t) << 2)));
    const v = val + ((<usize>t) << 3);
    p0 = madd(v128.load32_splat(v), w0, p0);
    q0 = madd(v128.load32_splat(v, 4), w0, q0);
  }
  v128.store(o, p0);
  v128.store(o + rowOut, q0);
}

// Lists the non-zero inputs of one row; four at a time are skipped when all
// zero. Each input is stored whatever it holds and the count moves on past
// the non-zero ones only: no branch on a pixel, which a predictor cannot guess.
@inline
function gather(xr: usize, K: i32, rowBytes: usize, idx: usize, val: usize): i32 {
  let nz = 0;
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const v = v128.load(xr + ((<usize>k) << 2));
    if (!v128.any_true(v)) continue;
    const at = (<usize>k) * rowBytes;
    nz = keep1(idx, val, nz, at, f32x4.extract_lane(v, 0));
    nz = keep1(idx, val, nz, at + rowBytes, f32x4.extract_lane(v, 1));
    nz = keep1(idx, val, nz, at + 2 * rowBytes, f32x4.extract_lane(v, 2));
    nz = keep1(idx, val, nz, at + 3 * rowBytes, f32x4.extract_lane(v, 3));
  }
  for (; k < K; k++) nz = keep1(idx, val, nz, (<usize>k) * rowBytes, load<f32>(xr + ((<usize>k) << 2)));
  return nz;
}

@inline
function keep1(idx: usize, val: usize, nz: i32, at: usize, a: f32): i32 {
  store<u32>(idx + ((<usize>nz) << 2), <u32>at);
  store<f32>(val + ((<usize>nz) << 2), a);
  return nz + <i32>(a != 0);
}

// Thirty-two outputs of one row over its nz inputs: the first sixteen from Wa,
// the next from Wb (o, Wa and bj at the block's first output).
@inline
function block8(o: usize, Wa: usize, Wb: usize, bj: usize, nz: i32, idx: usize, val: usize): void {
  let a0 = v128.load(bj, 0);
  let a1 = v128.load(bj, 16);
  let a2 = v128.load(bj, 32);
  let a3 = v128.load(bj, 48);
  let a4 = v128.load(bj, 64);
  let a5 = v128.load(bj, 80);
  let a6 = v128.load(bj, 96);
  let a7 = v128.load(bj, 112);
  for (let t = 0; t < nz; t++) {
    const tt = (<usize>t) << 2;
    const s = v128.load32_splat(val + tt);
    const at = <usize>load<u32>(idx + tt);
    const w = Wa + at;
    a0 = madd(s, v128.load(w, 0), a0);
    a1 = madd(s, v128.load(w, 16), a1);
    a2 = madd(s, v128.load(w, 32), a2);
    a3 = madd(s, v128.load(w, 48), a3);
    const y = Wb + at;
    a4 = madd(s, v128.load(y, 0), a4);
    a5 = madd(s, v128.load(y, 16), a5);
    a6 = madd(s, v128.load(y, 32), a6);
    a7 = madd(s, v128.load(y, 48), a7);
  }
  v128.store(o, a0, 0);
  v128.store(o, a1, 16);
  v128.store(o, a2, 32);
  v128.store(o, a3, 48);
  v128.store(o, a4, 64);
  v128.store(o, a5, 80);
  v128.store(o, a6, 96);
  v128.store(o, a7, 112);
}

// The last one to seven vectors of a row's outputs (4·v ≥ the outputs left),
// in one pass over the inputs as blocks of four, two and one vectors: the
// four from Wa, the two and the one after them from Wb, or from Wa when
// there is no block of four (o, Wa, Wb and bj at the block's first output).
function blockTail(o: usize, Wa: usize, Wb: usize, bj: usize, v: i32, nz: i32, idx: usize, val: usize): void {
  const four = v >= 4;
  const two = (v & 2) != 0;
  const one = (v & 1) != 0;
  // Offsets of the two- and one-vector blocks in out and b, and in W.
  const c2: usize = four ? 64 : 0;
  const c1: usize = c2 + (two ? 32 : 0);
  const W2 = four ? Wb : Wa;
  const W1 = W2 + (two ? 32 : 0);
  const zero = f32x4.splat(0);
  let a0 = four ? v128.load(bj, 0) : zero;
  let a1 = four ? v128.load(bj, 16) : zero;
  let a2 = four ? v128.load(bj, 32) : zero;
  let a3 = four ? v128.load(bj, 48) : zero;
  let e0 = two ? v128.load(bj + c2) : zero;
  let e1 = two ? v128.load(bj + c2, 16) : zero;
  let f0 = one ? v128.load(bj + c1) : zero;
  for (let t = 0; t < nz; t++) {
    const tt = (<usize>t) << 2;
    const s = v128.load32_splat(val + tt);
    const at = <usize>load<u32>(idx + tt);
    if (four) {
      const w = Wa + at;
      a0 = madd(s, v128.load(w, 0), a0);
      a1 = madd(s, v128.load(w, 16), a1);
      a2 = madd(s, v128.load(w, 32), a2);
      a3 = madd(s, v128.load(w, 48), a3);
    }
    if (two) {
      e0 = madd(s, v128.load(W2 + at), e0);
      e1 = madd(s, v128.load(W2 + at, 16), e1);
    }
    if (one) f0 = madd(s, v128.load(W1 + at), f0);
  }
  if (four) {
    v128.store(o, a0, 0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  if (two) {
    v128.store(o + c2, e0);
    v128.store(o + c2, e1, 16);
  }
  if (one) v128.store(o + c1, f0);
}

// The first dense layer of an I8 model on raw pixels, in whole numbers.
// p = pixels (N, K) bytes, q = the layer's I8 weights (K, M) with
// one F32 scale s[j] per output column (W = fround(q·s), src/model/int8.ts):
// x·W = (1/scale)·Σk p·q·s, so each output is one exact integer sum
// (|Σ| ≤ K·255·127 < 2^31 for K ≤ 66311) scaled once:
//   out[n][j] = fround(b[j] + fround(fround(Σk p[n][k]·q[k][j]) · fround(s[j] / scale)))
// with scale as a float32. The sum is exact in any order, so the JS twins
// (affine.ts affineI8Naive, affineI8) give the same bits.
// The product is i32x4.dot_i16x8_s: q kept as i8 pairs and widened to i16 in
// the loop, two inputs a lane, so one instruction is eight multiply-adds, two
// per f32 FMA lane. (Panels widened to i16 when packed measured no faster,
// at twice the bytes: 802 816 for mnist-mlp's first layer against 401 408.)
// relaxed_dot_i8x16_i7x16_add_s would take four inputs a lane, but a pixel
// (0-255) is no i7 operand: it must be split in two (p = 2·(p >> 1) + (p & 1)),
// two dots per four inputs, and on x64 without AVX-VNNI each dot is
// pmaddubsw + pmaddwd + paddd against this path's pmaddwd + paddd per two
// inputs. (pmaddubsw would not saturate: its pairs are at most
// 2·128·127 = 32512 < 2^15.) Measured on this loop's shape (two rows,
// sixteen outputs, a 25 KB panel, Zen 3): 1.3 ns per listed input here,
// 2.4 with the split relaxed dots (2.9 folding both halves into one
// accumulator), 2.0 for the f32 tile2x4. Both builds run this path.

/**
 * q (K, M) int8 packed for affineI8 into dst: outputs in panels of
 * sixteen, inputs in pairs, each pair's row of a panel PAIR_ROW (32) bytes,
 * column c's two bytes q[2t][c] then q[2t + 1][c] (an i16 lane each once
 * widened); dst is (⌈M/16⌉, ⌈K/2⌉, 16, 2), padding columns and the pad input
 * of an odd K zero.
 */
export function packI8(dst: usize, q: usize, K: i32, M: i32): void {
  const KP = (K + 1) >> 1;
  let d = dst;
  for (let j = 0; j < M; j += 16) {
    const w = min(16, M - j);
    for (let t = 0; t < KP; t++) {
      const k = 2 * t;
      const a = q + <usize>k * <usize>M + <usize>j;
      // A whole panel row of two inputs is two loads and two interleaves (a first decode runs this once, before V8 optimises).
      if (w == 16 && k + 1 < K) {
        const ra = v128.load(a);
        const rb = v128.load(a + <usize>M);
        v128.store(d, i8x16.shuffle(ra, rb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
        v128.store(d, i8x16.shuffle(ra, rb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
      } else
        for (let c = 0; c < 16; c++) {
          store<i8>(d + ((<usize>c) << 1), c < w ? load<i8>(a + <usize>c) : 0);
          store<i8>(d + ((<usize>c) << 1) + 1, c < w && k + 1 < K ? load<i8>(a + <usize>M + <usize>c) : 0);
        }
      d += PAIR_ROW;
    }
  }
}

/**
 * The layer above: out = fround(b + fround(fround(p·q) · fround(s / pixelScale))).
 * p is (N, K) bytes, Wq is q packed by packI8, s and b are (M); out is (N, M).
 * The same walk as affinePacked: pairs of rows list the pairs of inputs where
 * either row is non-zero (offset t·PAIR_ROW and each row's two pixels as one i32),
 * GROUP pairs of rows share each STRIPE of panels, a last odd row goes alone.
 * `idx` is scratch for GROUP + GROUP·⌈K/2⌉ entries and `val` for 2·GROUP·⌈K/2⌉.
 */
export function affineI8(out: usize, p: usize, Wq: usize, b: usize, s: usize, pixelScale: f32, N: i32, K: i32, M: i32, idx: usize, val: usize): void {
  const rowOut = (<usize>M) << 2;
  const KP = (K + 1) >> 1;
  const panel = (<usize>KP) * PAIR_ROW;
  const full = M & ~15;
  const last = Wq + (<usize>(full >> 4)) * panel;
  const listI = (<usize>KP) << 2;
  const listV = (<usize>KP) << 3;
  const lists = idx + (<usize>GROUP << 2);
  const sc = f32x4.splat(pixelScale);
  let n = 0;
  for (; n + 2 <= N; n += 2 * GROUP) {
    const g = min(GROUP, (N - n) >> 1);
    for (let r = 0; r < g; r++) {
      const u = pairs2(p + <usize>(n + 2 * r) * <usize>K, K, lists + <usize>r * listI, val + <usize>r * listV);
      store<i32>(idx + ((<usize>r) << 2), u);
      // The last block first: it may write past the row into the next row's first outputs.
      const o = out + ((<usize>(n + 2 * r) * <usize>M) << 2);
      const c = (<usize>full) << 2;
      tileI8Last(o + c, last, b + c, s + c, sc, M - full, u, lists + <usize>r * listI, val + <usize>r * listV, rowOut, 2);
    }
    for (let e0 = 0; e0 < full; e0 += 16 * STRIPE) {
      const e = min(full, e0 + 16 * STRIPE);
      for (let r = 0; r < g; r++) {
        const u = load<i32>(idx + ((<usize>r) << 2));
        const o = out + ((<usize>(n + 2 * r) * <usize>M) << 2);
        let Wj = Wq + (<usize>(e0 >> 4)) * panel;
        for (let j = e0; j < e; j += 16) {
          const c = (<usize>j) << 2;
          tileI8(o + c, Wj, b + c, s + c, sc, u, lists + <usize>r * listI, val + <usize>r * listV, rowOut, 4, 2);
          Wj += panel;
        }
      }
    }
  }
  n = N & ~1;
  if (n < N) {
    const o = out + ((<usize>n * <usize>M) << 2);
    const u = pairs1(p + <usize>n * <usize>K, K, idx, val);
    let Wj = Wq;
    for (let j = 0; j < full; j += 16) {
      const c = (<usize>j) << 2;
      tileI8(o + c, Wj, b + c, s + c, sc, u, idx, val, 0, 4, 1);
      Wj += panel;
    }
    const c = (<usize>full) << 2;
    tileI8Last(o + c, last, b + c, s + c, sc, M - full, u, idx, val, 0, 1);
  }
}

// Lists the pairs of inputs where either of two rows of bytes (K apart) is
// non-zero: offset t·PAIR_ROW into a panel and each row's two pixels as one i32
// (low half the first), side by side. Sixteen inputs at a time are skipped
// when all 32 bytes are zero; inside them, four pairs at a time are listed
// with no branch on their values (list4, as union2 does).
@inline
function pairs2(pa: usize, K: i32, idx: usize, val: usize): i32 {
  const pb = pa + <usize>K;
  let u = 0;
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const a = v128.load(pa + <usize>k);
    const c = v128.load(pb + <usize>k);
    if (!v128.any_true(v128.or(a, c))) continue;
    const at = (<usize>k) * (PAIR_ROW >> 1);
    u = list4(idx, val, u, at, PAIR_ROW, i16x8.extend_low_i8x16_u(a), i16x8.extend_low_i8x16_u(c));
    u = list4(idx, val, u, at + 4 * PAIR_ROW, PAIR_ROW, i16x8.extend_high_i8x16_u(a), i16x8.extend_high_i8x16_u(c));
  }
  for (; k < K; k += 2) {
    const x = pairAt(pa, k, K);
    const y = pairAt(pb, k, K);
    store<u32>(idx + ((<usize>u) << 2), <u32>((<usize>k) * (PAIR_ROW >> 1)));
    store<u32>(val + ((<usize>u) << 3), x);
    store<u32>(val + ((<usize>u) << 3), y, 4);
    u += <i32>((x | y) != 0);
  }
  return u;
}

// pairs2 for one row: offset t·PAIR_ROW and its two pixels as one i32.
@inline
function pairs1(pa: usize, K: i32, idx: usize, val: usize): i32 {
  let u = 0;
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const a = v128.load(pa + <usize>k);
    if (!v128.any_true(a)) continue;
    const at = (<usize>k) * (PAIR_ROW >> 1);
    const lo = i16x8.extend_low_i8x16_u(a);
    const hi = i16x8.extend_high_i8x16_u(a);
    u = keepPair(idx, val, u, at, i32x4.extract_lane(lo, 0));
    u = keepPair(idx, val, u, at + 1 * PAIR_ROW, i32x4.extract_lane(lo, 1));
    u = keepPair(idx, val, u, at + 2 * PAIR_ROW, i32x4.extract_lane(lo, 2));
    u = keepPair(idx, val, u, at + 3 * PAIR_ROW, i32x4.extract_lane(lo, 3));
    u = keepPair(idx, val, u, at + 4 * PAIR_ROW, i32x4.extract_lane(hi, 0));
    u = keepPair(idx, val, u, at + 5 * PAIR_ROW, i32x4.extract_lane(hi, 1));
    u = keepPair(idx, val, u, at + 6 * PAIR_ROW, i32x4.extract_lane(hi, 2));
    u = keepPair(idx, val, u, at + 7 * PAIR_ROW, i32x4.extract_lane(hi, 3));
  }
  for (; k < K; k += 2) u = keepPair(idx, val, u, (<usize>k) * (PAIR_ROW >> 1), <i32>pairAt(pa, k, K));
  return u;
}

// Pixels k and k + 1 of a row as one i32, the second 0 past the row's end.
@inline
function pairAt(row: usize, k: i32, K: i32): u32 {
  const lo = <u32>load<u8>(row + <usize>k);
  return k + 1 < K ? lo | (<u32>load<u8>(row + <usize>k + 1) << 16) : lo;
}

@inline
function keepPair(idx: usize, val: usize, u: i32, at: usize, v: i32): i32 {
  store<u32>(idx + ((<usize>u) << 2), <u32>at);
  store<i32>(val + ((<usize>u) << 2), v);
  return u + <i32>(v != 0);
}

// The last r (0-15) outputs of R rows as a block of four, eight or sixteen.
@inline
function tileI8Last(o: usize, Wj: usize, bj: usize, sj: usize, sc: v128, r: i32, u: i32, idx: usize, val: usize, rowOut: usize, R: i32): void {
  if (r > 8) tileI8(o, Wj, bj, sj, sc, u, idx, val, rowOut, 4, R);
  else if (r > 4) tileI8(o, Wj, bj, sj, sc, u, idx, val, rowOut, 2, R);
  else if (r > 0) tileI8(o, Wj, bj, sj, sc, u, idx, val, rowOut, 1, R);
}

// V vectors (4·V outputs) of R rows (1 or 2, rowOut bytes apart in out) over
// the u listed pairs of inputs: integer sums from zero, then scaled and the
// bias added (o, Wj, bj and sj at the block's first output).
@inline
function tileI8(o: usize, Wj: usize, bj: usize, sj: usize, sc: v128, u: i32, idx: usize, val: usize, rowOut: usize, V: i32, R: i32): void {
  const zero = i32x4.splat(0);
  let p0 = zero;
  let p1 = zero;
  let p2 = zero;
  let p3 = zero;
  let q0 = zero;
  let q1 = zero;
  let q2 = zero;
  let q3 = zero;
  const end = idx + ((<usize>u) << 2);
  const step: usize = R == 2 ? 8 : 4;
  for (let i = idx, v = val; i < end; i += 4, v += step) {
    const w = Wj + <usize>load<u32>(i);
    const e = v128.load32_splat(v);
    const f = R == 2 ? v128.load32_splat(v, 4) : e;
    // Sixteen bytes hold eight outputs' pairs of weights, widened here.
    const b0 = v128.load(w);
    const b1 = V == 4 ? v128.load(w, 16) : b0;
    let w0 = i16x8.extend_low_i8x16_s(b0);
    p0 = i32x4.add(p0, i32x4.dot_i16x8_s(w0, e));
    if (R == 2) q0 = i32x4.add(q0, i32x4.dot_i16x8_s(w0, f));
    if (V >= 2) {
      w0 = i16x8.extend_high_i8x16_s(b0);
      p1 = i32x4.add(p1, i32x4.dot_i16x8_s(w0, e));
      if (R == 2) q1 = i32x4.add(q1, i32x4.dot_i16x8_s(w0, f));
    }
    if (V == 4) {
      w0 = i16x8.extend_low_i8x16_s(b1);
      p2 = i32x4.add(p2, i32x4.dot_i16x8_s(w0, e));
      if (R == 2) q2 = i32x4.add(q2, i32x4.dot_i16x8_s(w0, f));
      w0 = i16x8.extend_high_i8x16_s(b1);
      p3 = i32x4.add(p3, i32x4.dot_i16x8_s(w0, e));
      if (R == 2) q3 = i32x4.add(q3, i32x4.dot_i16x8_s(w0, f));
    }
  }
  // Row by row: a row's last vector may run into the next row, which is written after it.
  v128.store(o, scaleI8(p0, bj, sj, sc));
  if (V >= 2) v128.store(o + 16, scaleI8(p1, bj + 16, sj + 16, sc));
  if (V == 4) {
    v128.store(o + 32, scaleI8(p2, bj + 32, sj + 32, sc));
    v128.store(o + 48, scaleI8(p3, bj + 48, sj + 48, sc));
  }
  if (R == 2) {
    const oq = o + rowOut;
    v128.store(oq, scaleI8(q0, bj, sj, sc));
    if (V >= 2) v128.store(oq + 16, scaleI8(q1, bj + 16, sj + 16, sc));
    if (V == 4) {
      v128.store(oq + 32, scaleI8(q2, bj + 32, sj + 32, sc));
      v128.store(oq + 48, scaleI8(q3, bj + 48, sj + 48, sc));
    }
  }
}

// fround(b + fround(fround(sum) · fround(s / scale))) for four outputs: a
// separate multiply and add, never fused, so both builds give the JS bits.
@inline
function scaleI8(sum: v128, bj: usize, sj: usize, sc: v128): v128 {
  return f32x4.add(v128.load(bj), f32x4.mul(f32x4.convert_i32x4_s(sum), f32x4.div(v128.load(sj), sc)));
}

// e^x for four lanes: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so r
// is exact), e^r by the degree-6 polynomial of Cephes' expf, 2^n built in the
// exponent bits. Inputs are clamped to [-87, 88] so 2^n stays a normal float.
// n comes from adding 1.5·2^23 to x·log2(e): the sum's rounding is round to
// nearest, and its low mantissa bits hold n, so n + 127 is an integer add
// away from 2^n's exponent field. That, and pmin/pmax for the clamp (one
// instruction each, where min/max spend several on NaN; a NaN still comes
// out NaN), is about half the instructions of nearest, trunc_sat and min/max.
// Max relative error against the exact value: 1.2e-7 measured, 2e-7 held by
// kernels.test.ts over [-87, 88].
@inline
function vexp(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, c(0)), c(1));
  const t = f32x4.add(f32x4.mul(x, c(2)), c(3));
  const n = f32x4.sub(t, c(3));
  let r = madd(n, c(4), x);
  r = madd(n, c(5), r);
  let p = c(6);
  p = madd(p, r, c(7));
  p = madd(p, r, c(8));
  p = madd(p, r, c(9));
  p = madd(p, r, c(10));
  p = madd(p, r, c(11));
  const y = madd(p, f32x4.mul(r, r), f32x4.add(r, c(12)));
  // t's bits are those of 1.5·2^23 (0x4b400000) plus n.
  const e = i32x4.shl(i32x4.add(t, c(13)), 23);
  return f32x4.mul(y, e);
}

// vexp's constants, read from memory: V8 builds a v128 constant inside the
// loop that uses it (three instructions for each of thirteen), where a
// splatted load is one.
const EXP_C = memory.data<f32>([
  -87.0,
  88.0,
  1.44269504088896341, // log2(e)
  12582912.0, // 1.5·2^23
  -0.693359375, // ln 2 to 9 bits, so n times it is exact
  2.12194440e-4, // the rest of ln 2
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
  1.0,
  reinterpret<f32>(127 - 0x4b400000), // an integer: the exponent's bias less 1.5·2^23's bits
]);

@inline
function c(i: i32): v128 {
  return v128.load32_splat(EXP_C + ((<usize>i) << 2));
}

/** e^x in place over n floats (for the error test). */
export function exp(p: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const q = p + ((<usize>i) << 2);
    v128.store(q, vexp(v128.load(q)));
  }
}

/** Logistic sigmoid 1 / (1 + e^-x) in place over n floats. */
export function sigmoid(p: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const q = p + ((<usize>i) << 2);
    const one = c(12);
    v128.store(q, f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(v128.load(q))))));
  }
}

/** max(0, x) in place over n floats; NaN becomes 0, as in the JS relu. */
export function relu(p: usize, n: i32): void {
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const q = p + ((<usize>i) << 2);
    v128.store(q, f32x4.pmax(zero, v128.load(q)));
  }
}

/** 1 where x > 0, else 0, in place over n floats. */
export function step(p: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1.0);
  for (let i = 0; i < n; i += 4) {
    const q = p + ((<usize>i) << 2);
    v128.store(q, v128.and(f32x4.gt(v128.load(q), zero), one));
  }
}

/**
 * Softmax over each row of (N, C), in place: the row maximum is subtracted
 * (against overflow), e^x is taken four at a time over the whole matrix, and
 * each row is divided by its sum. A row with no finite maximum (all -Infinity
 * or NaN) comes out uniform; +Infinity entries share the mass, as in the JS softmax.
 */
export function softmax(p: usize, N: i32, C: i32): void {
  const rowBytes = (<usize>C) << 2;
  for (let n = 0; n < N; n++) {
    const o = p + (<usize>n) * rowBytes;
    let max = -Infinity as f32;
    for (let j = 0; j < C; j++) max = Mathf.max(max, load<f32>(o + ((<usize>j) << 2)));
    const finite = max > -Infinity;
    if (max == Infinity) max = f32.MAX_VALUE;
    for (let j = 0; j < C; j++) {
      const q = o + ((<usize>j) << 2);
      store<f32>(q, finite ? Mathf.min(load<f32>(q), f32.MAX_VALUE) - max : 0);
    }
  }
  exp(p, N * C);
  for (let n = 0; n < N; n++) {
    const o = p + (<usize>n) * rowBytes;
    let sum: f32 = 0;
    for (let j = 0; j < C; j++) sum += load<f32>(o + ((<usize>j) << 2));
    const inv: f32 = 1 / sum;
    for (let j = 0; j < C; j++) {
      const q = o + ((<usize>j) << 2);
      store<f32>(q, load<f32>(q) * inv);
    }
  }
}

/**
 * F16 bit patterns to F32, n values from src to dst. Returns the index of the
 * first Infinity or NaN (exponent bits all ones; dst is then incomplete), or
 * -1. The bits move into place and a multiply by 2^112 rebiases the exponent,
 * which also turns F16 subnormals into the right F32 value.
 */
export function f16ToF32(src: usize, dst: usize, n: i32): i32 {
  const expMask = i16x8.splat(0x7c00);
  const absMask = i32x4.splat(0x7fff);
  const magic = f32x4.splat(5.192296858534828e33); // 2^112
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + ((<usize>i) << 1));
    if (v128.any_true(i16x8.eq(v128.and(h, expMask), expMask))) return firstNonFinite(src, i, n);
    const lo = i32x4.extend_low_i16x8_u(h);
    const hi = i32x4.extend_high_i16x8_u(h);
    const d = dst + ((<usize>i) << 2);
    v128.store(d, v128.or(f32x4.mul(i32x4.shl(v128.and(lo, absMask), 13), magic), i32x4.shl(i32x4.shr_u(lo, 15), 31)));
    v128.store(d, v128.or(f32x4.mul(i32x4.shl(v128.and(hi, absMask), 13), magic), i32x4.shl(i32x4.shr_u(hi, 15), 31)), 16);
  }
  for (; i < n; i++) {
    const h = <u32>load<u16>(src + ((<usize>i) << 1));
    if ((h & 0x7c00) == 0x7c00) return i;
    const f = reinterpret<f32>((h & 0x7fff) << 13) * 5.192296858534828e33;
    store<u32>(dst + ((<usize>i) << 2), reinterpret<u32>(f) | ((h >> 15) << 31));
  }
  return -1;
}

function firstNonFinite(src: usize, from: i32, n: i32): i32 {
  for (let i = from; i < n; i++) if ((load<u16>(src + ((<usize>i) << 1)) & 0x7c00) == 0x7c00) return i;
  return -1;
}

/**
 * Pixels to inputs: dst[i] = src[i] · inv, n bytes to n floats, the product
 * taken in f64 and rounded once, exactly as the JS conversion does.
 */
export function pixels(src: usize, dst: usize, n: i32, inv: f64): void {
  const k = f64x2.splat(inv);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(src + <usize>i)));
    const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_u(v), k));
    const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_u(i32x4.shuffle(v, v, 2, 3, 0, 1)), k));
    v128.store(dst + ((<usize>i) << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < n; i++) store<f32>(dst + ((<usize>i) << 2), <f32>(<f64>load<u8>(src + <usize>i) * inv));
}

/**
 * I8 weights to F32, n values from q to dst: each q times its output's
 * scale, one per output (G of them): with `perFilter` 0, n/G rows of G
 * columns, scale[j] for column j; otherwise G filters of n/G values each,
 * scale[f] for filter f. A product of a whole number below 2^7 and a float32
 * is rounded once either way, so these are dequantizeI8's bits (src/model/int8.ts,
 * the JS twin). In Wasm because a model's first decode runs it once, before
 * V8 has optimised any JS loop: 392 000 weights for mnist-mlp.
 */
export function i8ToF32(q: usize, scale: usize, dst: usize, n: i32, G: i32, perFilter: i32): void {
  const per = n / G;
  if (perFilter) {
    for (let f = 0; f < G; f++) {
      const s = f32x4.splat(load<f32>(scale + ((<usize>f) << 2)));
      i8Times(q + <usize>f * <usize>per, dst + ((<usize>f * <usize>per) << 2), per, s, 0);
    }
    return;
  }
  for (let r = 0; r < per; r++) i8Times(q + <usize>r * <usize>G, dst + ((<usize>r * <usize>G) << 2), G, f32x4.splat(0), scale);
}

// dst[i] = q[i] · s for n values, s either one splatted scale or, when
// `scale` is not 0, scale[i] (a row of per-column scales).
function i8Times(q: usize, dst: usize, n: i32, s: v128, scale: usize): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(q + <usize>i);
    const lo = i16x8.extend_low_i8x16_s(b);
    const hi = i16x8.extend_high_i8x16_s(b);
    const d = dst + ((<usize>i) << 2);
    const sc = scale + ((<usize>i) << 2);
    v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), scale ? v128.load(sc) : s));
    v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), scale ? v128.load(sc, 16) : s), 16);
    v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), scale ? v128.load(sc, 32) : s), 32);
    v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), scale ? v128.load(sc, 48) : s), 48);
  }
  for (; i < n; i++) {
    const f = scale ? load<f32>(scale + ((<usize>i) << 2)) : f32x4.extract_lane(s, 0);
    store<f32>(dst + ((<usize>i) << 2), <f32>load<i8>(q + <usize>i) * f);
  }
}

/** The index of the first Infinity or NaN among n F32 values (exponent bits all ones), or -1. */
export function firstNonFiniteF32(src: usize, n: i32): i32 {
  const expMask = i32x4.splat(0x7f800000);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (v128.any_true(i32x4.eq(v128.and(v128.load(src + ((<usize>i) << 2)), expMask), expMask))) break;
  }
  for (; i < n; i++) if ((load<u32>(src + ((<usize>i) << 2)) & 0x7f800000) == 0x7f800000) return i;
  return -1;
}

// Convolution and pooling (chapter 7), channels first: a convolution is
// im2col, then affine with the filters (F, K) as its rows and the columns
// (K, M) as its weights, then biasRows. C = channels, IH × IW = input,
// KH × KW = kernel, OH × OW = output, K = C·KH·KW, M = OH·OW.

/**
 * The book's im2col for one image: x is (C, IH, IW); cols is (K, M) with
 * cols[(c·KH + ky)·KW + kx][oy·OW + ox] = x[c][oy·stride + ky − pad][ox·stride + kx − pad],
 * 0 in the padding. Rows inside the input with stride 1 are copied four at a time.
 */
export function im2col(cols: usize, x: usize, C: i32, IH: i32, IW: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32): void {
  let o = cols;
  for (let c = 0; c < C; c++)
    for (let ky = 0; ky < KH; ky++)
      for (let kx = 0; kx < KW; kx++)
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride + ky - pad;
          if (iy < 0 || iy >= IH) {
            memory.fill(o, 0, (<usize>OW) << 2);
            o += (<usize>OW) << 2;
            continue;
          }
          const xr = x + ((<usize>(c * IH + iy) * <usize>IW) << 2);
          // Output columns whose input column ix = ox·stride + kx − pad lies inside the row.
          let lo = 0;
          while (lo < OW && lo * stride + kx - pad < 0) lo++;
          let hi = OW;
          while (hi > lo && (hi - 1) * stride + kx - pad >= IW) hi--;
          for (let ox = 0; ox < lo; ox++) store<f32>(o + ((<usize>ox) << 2), 0);
          if (stride == 1) {
            memory.copy(o + ((<usize>lo) << 2), xr + ((<usize>(lo + kx - pad)) << 2), (<usize>(hi - lo)) << 2);
          } else {
            for (let ox = lo; ox < hi; ox++) store<f32>(o + ((<usize>ox) << 2), load<f32>(xr + ((<usize>(ox * stride + kx - pad)) << 2)));
          }
          for (let ox = hi; ox < OW; ox++) store<f32>(o + ((<usize>ox) << 2), 0);
          o += (<usize>OW) << 2;
        }
}

/** out[f][m] += b[f] over F rows of M, four at a time within each row. */
export function biasRows(out: usize, b: usize, F: i32, M: i32): void {
  for (let f = 0; f < F; f++) {
    const bf = v128.load32_splat(b + ((<usize>f) << 2));
    const r = out + ((<usize>f * <usize>M) << 2);
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const q = r + ((<usize>m) << 2);
      v128.store(q, f32x4.add(v128.load(q), bf));
    }
    for (; m < M; m++) {
      const q = r + ((<usize>m) << 2);
      store<f32>(q, load<f32>(q) + f32x4.extract_lane(bf, 0));
    }
  }
}

/**
 * Max pooling over size × size windows, stride size: x is (P, IH, IW) for
 * P planes (channels); out is (P, ⌊IH/size⌋, ⌊IW/size⌋), edges left over dropped.
 */
export function maxPool(out: usize, x: usize, P: i32, IH: i32, IW: i32, size: i32): void {
  const OH = IH / size;
  const OW = IW / size;
  let o = out;
  for (let p = 0; p < P; p++) {
    const plane = x + ((<usize>p * <usize>IH * <usize>IW) << 2);
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity as f32;
        for (let dy = 0; dy < size; dy++) {
          const r = plane + ((<usize>(oy * size + dy) * <usize>IW + <usize>(ox * size)) << 2);
          for (let dx = 0; dx < size; dx++) m = Mathf.max(m, load<f32>(r + ((<usize>dx) << 2)));
        }
        store<f32>(o, m);
        o += 4;
      }
  }
}

/** p[i] *= s over n floats (the book's inference-time dropout scale). */
export function scale(p: usize, n: i32, s: f32): void {
  const k = f32x4.splat(s);
  for (let i = 0; i < n; i += 4) {
    const q = p + ((<usize>i) << 2);
    v128.store(q, f32x4.mul(v128.load(q), k));
  }
}

/**
 * Filters W (F, K) packed for convDirect into dst, (⌈F/4⌉, K, 4): four
 * filters' weights for each tap side by side (one vector), filters past F as zeros.
 */
export function packFilters(dst: usize, W: usize, F: i32, K: i32): void {
  const G = (F + 3) >> 2;
  let d = dst;
  for (let g = 0; g < G; g++)
    for (let k = 0; k < K; k++)
      for (let r = 0; r < 4; r++) {
        const f = 4 * g + r;
        store<f32>(d, f < F ? load<f32>(W + ((<usize>(f * K + k)) << 2)) : 0);
        d += 4;
      }
}

/**
 * A stride-1 convolution of N images, its bias, 2 × 2 (or any) max pooling
 * and an optional ReLU, with no im2col matrix. Each image is copied into xp
 * with its zero padding, (C, IHp, IWp), IHp = IH + 2·pad. Then out is worked
 * out at every position m = oy·IWp + ox of the padded width: tap (c, ky, kx)
 * of the filter meets xp[c][oy + ky][ox + kx], which is xp's flat index
 * m + (c·IHp + ky)·IWp + kx, so for eight consecutive outputs the eight
 * inputs of a tap are one contiguous pair of vectors (offsets listed in idx).
 * The IWp − OW columns of each row past OW are worked out too and never
 * read: the price of no im2col. Four filters at a time (packed into Wp as
 * one vector per tap, filters past F as zeros) × eight outputs in eight
 * registers, from the bias, over the taps in order; into t, (⌈F/4⌉·4, Ms)
 * with Ms = OH·IWp rounded up to 8. Then pooling (or the copy, pool ≤ 1)
 * reads t into out, (N, F, ⌊OH/pool⌋, ⌊OW/pool⌋), ReLU after (max and ReLU
 * commute). Wp is the filters packed by packFilters, once when they are
 * loaded: repacking them on every call (51200 scalar moves for mnist-cnn's
 * second layer) cost a single image about 60 of its 340 µs.
 * xp needs C·IHp·IWp + IWp + 32 floats, idx K.
 */
export function convDirect(
  out: usize,
  x: usize,
  Wp: usize,
  b: usize,
  N: i32,
  C: i32,
  IH: i32,
  IW: i32,
  F: i32,
  KH: i32,
  KW: i32,
  pad: i32,
  pool: i32,
  relu: i32,
  xp: usize,
  t: usize,
  idx: usize,
): void {
  const IHp = IH + 2 * pad;
  const IWp = IW + 2 * pad;
  const OH = IHp - KH + 1;
  const OW = IWp - KW + 1;
  const K = C * KH * KW;
  const Ms = (OH * IWp + 7) & ~7;
  const G = (F + 3) >> 2;
  let k = 0;
  for (let c = 0; c < C; c++)
    for (let ky = 0; ky < KH; ky++)
      for (let kx = 0; kx < KW; kx++, k++) store<u32>(idx + ((<usize>k) << 2), <u32>(((c * IHp + ky) * IWp + kx) << 2));
  // The padding (and the tail the last row's unused columns read) is zero once; each image overwrites only the inside.
  memory.fill(xp, 0, (<usize>(C * IHp * IWp + IWp + 32)) << 2);
  const image = (<usize>(C * IH * IW)) << 2;
  const P = pool > 1 ? pool : 1;
  const PH = OH / P;
  const PW = OW / P;
  const outImage = (<usize>(F * PH * PW)) << 2;
  for (let n = 0; n < N; n++) {
    padImage(xp, x + (<usize>n) * image, C, IH, IW, pad, IHp, IWp);
    for (let g = 0; g < G; g++) convTile(t, xp, b, F, g, K, Ms, idx, Wp);
    const o = out + (<usize>n) * outImage;
    if (P == 2) pool2(o, t, F, PH, PW, IWp, Ms, relu);
    else poolAny(o, t, F, PH, PW, IWp, Ms, P, relu);
  }
}

// One image's rows into the inside of its padded copy: four floats at a time, the row's last 0–3 one by one (the padding stays 0).
@inline
function padImage(xp: usize, x: usize, C: i32, IH: i32, IW: i32, pad: i32, IHp: i32, IWp: i32): void {
  let s = x;
  for (let c = 0; c < C; c++)
    for (let y = 0; y < IH; y++) {
      const d = xp + ((<usize>((c * IHp + y + pad) * IWp + pad)) << 2);
      let i = 0;
      for (; i + 4 <= IW; i += 4) v128.store(d + ((<usize>i) << 2), v128.load(s + ((<usize>i) << 2)));
      for (; i < IW; i++) store<f32>(d + ((<usize>i) << 2), load<f32>(s + ((<usize>i) << 2)));
      s += (<usize>IW) << 2;
    }
}

// Filters 4g … 4g + 3 over all Ms outputs, eight at a time, into t.
@inline
function convTile(t: usize, xp: usize, b: usize, F: i32, g: i32, K: i32, Ms: i32, idx: usize, Wp: usize): void {
  const f = 4 * g;
  const zero = f32x4.splat(0);
  const bp = f < F ? v128.load32_splat(b + ((<usize>f) << 2)) : zero;
  const bq = f + 1 < F ? v128.load32_splat(b + ((<usize>(f + 1)) << 2)) : zero;
  const br = f + 2 < F ? v128.load32_splat(b + ((<usize>(f + 2)) << 2)) : zero;
  const bs = f + 3 < F ? v128.load32_splat(b + ((<usize>(f + 3)) << 2)) : zero;
  const vg = Wp + ((<usize>(g * K)) << 4);
  const row = (<usize>Ms) << 2;
  const t0 = t + (<usize>f) * row;
  for (let j = 0; j < Ms; j += 8) {
    let p0 = bp;
    let p1 = bp;
    let q0 = bq;
    let q1 = bq;
    let r0 = br;
    let r1 = br;
    let s0 = bs;
    let s1 = bs;
    const xj = xp + ((<usize>j) << 2);
    for (let k = 0; k < K; k++) {
      const w = xj + <usize>load<u32>(idx + ((<usize>k) << 2));
      const x0 = v128.load(w);
      const x1 = v128.load(w, 16);
      const v = v128.load(vg + ((<usize>k) << 4));
      let e = i32x4.shuffle(v, v, 0, 0, 0, 0);
      p0 = madd(e, x0, p0);
      p1 = madd(e, x1, p1);
      e = i32x4.shuffle(v, v, 1, 1, 1, 1);
      q0 = madd(e, x0, q0);
      q1 = madd(e, x1, q1);
      e = i32x4.shuffle(v, v, 2, 2, 2, 2);
      r0 = madd(e, x0, r0);
      r1 = madd(e, x1, r1);
      e = i32x4.shuffle(v, v, 3, 3, 3, 3);
      s0 = madd(e, x0, s0);
      s1 = madd(e, x1, s1);
    }
    let o = t0 + ((<usize>j) << 2);
    v128.store(o, p0);
    v128.store(o, p1, 16);
    o += row;
    v128.store(o, q0);
    v128.store(o, q1, 16);
    o += row;
    v128.store(o, r0);
    v128.store(o, r1, 16);
    o += row;
    v128.store(o, s0);
    v128.store(o, s1, 16);
  }
}

// 2 × 2 max pooling from t (rows IWp apart, filters Ms apart) into out, four outputs at a time; the last vector of a row may write
// up to three floats past it, into the next row, written after it.
@inline
function pool2(out: usize, t: usize, F: i32, PH: i32, PW: i32, IWp: i32, Ms: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  const rowIn = (<usize>IWp) << 2;
  let o = out;
  for (let f = 0; f < F; f++)
    for (let y = 0; y < PH; y++) {
      const r0 = t + ((<usize>(f * Ms + 2 * y * IWp)) << 2);
      const r1 = r0 + rowIn;
      for (let x = 0; x < PW; x += 4) {
        const c = (<usize>x) << 3;
        const m0 = f32x4.max(v128.load(r0 + c), v128.load(r1 + c));
        const m1 = f32x4.max(v128.load(r0 + c, 16), v128.load(r1 + c, 16));
        let m = f32x4.max(i32x4.shuffle(m0, m1, 0, 2, 4, 6), i32x4.shuffle(m0, m1, 1, 3, 5, 7));
        if (relu) m = f32x4.pmax(zero, m);
        v128.store(o + ((<usize>x) << 2), m);
      }
      o += (<usize>PW) << 2;
    }
}

// Any other pooling (P = 1: a copy) from t into out, one output at a time.
function poolAny(out: usize, t: usize, F: i32, PH: i32, PW: i32, IWp: i32, Ms: i32, P: i32, relu: i32): void {
  let o = out;
  for (let f = 0; f < F; f++)
    for (let y = 0; y < PH; y++)
      for (let x = 0; x < PW; x++) {
        let m = -Infinity as f32;
        for (let dy = 0; dy < P; dy++) {
          const r = t + ((<usize>(f * Ms + (y * P + dy) * IWp + x * P)) << 2);
          for (let dx = 0; dx < P; dx++) m = Mathf.max(m, load<f32>(r + ((<usize>dx) << 2)));
        }
        store<f32>(o, relu && !(m > 0) ? 0 : m);
        o += 4;
      }
}
