// One kernel instance's exports and its memory, with a bump allocator over
// it. Private to src/nn/wasm: the backend (index.ts) and the test entry
// points (testing.ts) each own one instance, and nothing else reaches in.
import { type ConvShape, convOutput } from "../conv";
import type { Activation } from "../functions";

export interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  affine(out: number, x: number, W: number, b: number, N: number, K: number, M: number, idx: number, val: number): void;
  pack(dst: number, W: number, K: number, M: number): void;
  affinePacked(out: number, x: number, Wp: number, b: number, N: number, K: number, M: number, idx: number, val: number): void;
  packI8(dst: number, q: number, K: number, M: number): void;
  affineI8(out: number, p: number, Wq: number, b: number, s: number, pixelScale: number, N: number, K: number, M: number, idx: number, val: number): void;
  exp(p: number, n: number): void;
  sigmoid(p: number, n: number): void;
  relu(p: number, n: number): void;
  step(p: number, n: number): void;
  softmax(p: number, N: number, C: number): void;
  f16ToF32(src: number, dst: number, n: number): number;
  i8ToF32(q: number, scale: number, dst: number, n: number, G: number, perFilter: number): void;
  pixels(src: number, dst: number, n: number, inv: number): void;
  firstNonFiniteF32(src: number, n: number): number;
  im2col(cols: number, x: number, C: number, IH: number, IW: number, KH: number, KW: number, stride: number, pad: number, OH: number, OW: number): void;
  biasRows(out: number, b: number, F: number, M: number): void;
  maxPool(out: number, x: number, P: number, IH: number, IW: number, size: number): void;
  scale(p: number, n: number, s: number): void;
  packFilters(dst: number, W: number, F: number, K: number): void;
  convDirect(
    out: number,
    x: number,
    Wp: number,
    b: number,
    N: number,
    C: number,
    IH: number,
    IW: number,
    F: number,
    KH: number,
    KW: number,
    pad: number,
    pool: number,
    relu: number,
    xp: number,
    t: number,
    idx: number,
  ): void;
}

/** Floats of slack after every buffer: the kernel's last vector of a row may write up to 3 floats past it (16 leaves room to spare). */
const SLACK = 16;
const PAGE = 65536;

/** A new instance of the kernel with its own memory (instantiating a compiled module takes about a millisecond). */
export function instantiate(module: WebAssembly.Module): Exports {
  return new WebAssembly.Instance(module, {}).exports as unknown as Exports;
}

/**
 * The instance's memory, handed out bottom up. Regions are freed only by
 * going back to a mark (`release`): weights stay for the instance's life,
 * and per-call regions are released when the call returns.
 */
export class Arena {
  private top: number;
  private heap: Float32Array;
  private bytes: Uint8Array;
  private readonly memory: WebAssembly.Memory;

  constructor(ex: Exports) {
    this.memory = ex.memory;
    // Past the kernel's own constants (its static data), on a 64-byte line.
    this.top = Math.ceil(ex.heapBase() / 64) * 64;
    this.heap = new Float32Array(this.memory.buffer);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** Bytes of memory the instance holds (Wasm memory grows, never shrinks). */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** Where the next allocation goes; `release(mark)` frees everything allocated since. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** A 16-byte aligned region for n floats plus the slack; grows the memory when needed. */
  alloc(n: number): number {
    const at = this.top;
    this.top += (Math.ceil((n + SLACK) / 4) * 4) << 2;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE));
    return at;
  }

  /** The memory as floats; a fresh view after growth detached the old one. */
  f32(): Float32Array {
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
    return this.heap;
  }

  /** The memory as bytes; a fresh view after growth detached the old one. */
  u8(): Uint8Array {
    if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
    return this.bytes;
  }
}

/** Applies a named activation in place over (N, C) floats at byte offset p. */
export function activateAt(ex: Exports, name: Activation, p: number, N: number, C: number): void {
  if (name === "softmax") ex.softmax(p, N, C);
  else if (name !== "identity") ex[name](p, N * C);
}

/** Scratch, in floats, one convolution layer needs (convLayerAt's regions). */
export interface ConvNeeds {
  /** The padded image copy (convDirect) or nothing. */
  xp: number;
  /** The unpooled output of one image: convDirect's padded-width rows, or F·OH·OW. */
  t: number;
  /** The im2col matrix (K·M), its row of zeros (M), the taps or inputs (K) and affine's values (4·K; none for convDirect). */
  cols: number;
  M: number;
  K: number;
  val: number;
}

/** Whether convDirect runs this layer: stride 1, and an activation it applies (or none). */
const direct = (s: ConvShape, activation: Activation) => s.stride === 1 && (activation === "relu" || activation === "identity");

/**
 * Floats a convolution layer's filters take in memory: packed four by four
 * for convDirect, (⌈F/4⌉, K, 4), or as the file has them, (F, K), for im2col and affine.
 */
export function filterSize(s: ConvShape, activation: Activation): number {
  const K = s.C * s.KH * s.KW;
  return direct(s, activation) ? 4 * Math.ceil(s.F / 4) * K : s.F * K;
}

/**
 * A convolution layer's filters W (F, K) at byte offset src into dst as
 * convLayerAt reads them (filterSize floats): packed for convDirect, once
 * when they are loaded, or copied as they are. dst and src do not overlap.
 */
export function placeFilters(ex: Exports, dst: number, src: number, s: ConvShape, activation: Activation): void {
  const K = s.C * s.KH * s.KW;
  if (direct(s, activation)) ex.packFilters(dst, src, s.F, K);
  else new Uint8Array(ex.memory.buffer).copyWithin(dst, src, src + s.F * K * 4);
}

/** The filters (F, K) back out of what placeFilters wrote at float index at of heap. */
export function filtersOut(heap: Float32Array, at: number, s: ConvShape, activation: Activation): Float32Array {
  const K = s.C * s.KH * s.KW;
  if (!direct(s, activation)) return heap.slice(at, at + s.F * K);
  const W = new Float32Array(s.F * K);
  for (let f = 0; f < s.F; f++) for (let k = 0; k < K; k++) W[f * K + k] = heap[at + ((f >> 2) * K + k) * 4 + (f & 3)];
  return W;
}

export function convNeeds(s: ConvShape, activation: Activation): ConvNeeds {
  const [OH, OW] = convOutput(s);
  const K = s.C * s.KH * s.KW;
  const G = Math.ceil(s.F / 4);
  if (direct(s, activation)) {
    const IHp = s.IH + 2 * s.pad;
    const IWp = s.IW + 2 * s.pad;
    return { xp: s.C * IHp * IWp + IWp + 32, t: 4 * G * (Math.ceil((OH * IWp) / 8) * 8), cols: 0, M: 0, K, val: 0 };
  }
  return { xp: 0, t: s.F * OH * OW, cols: K * OH * OW, M: OH * OW, K, val: 4 * K };
}

/** Byte offsets of the scratch regions convLayerAt uses, each as large as ConvNeeds asks; zeros holds M + 16 zeros. */
export interface ConvScratch {
  xp: number;
  t: number;
  cols: number;
  zeros: number;
  idx: number;
  val: number;
}

/**
 * One convolution layer over N images at byte offset x, (N, C, IH, IW), into
 * out, (N, F, PH, PW): the filters (as placeFilters put them) and their bias, the activation, then max
 * pooling over pool × pool (none for pool ≤ 1). Stride 1 with ReLU or no
 * activation runs in one call (convDirect); anything else image by image:
 * im2col, affine with the filters as its rows, biasRows, the activation, maxPool.
 */
export function convLayerAt(
  ex: Exports,
  out: number,
  x: number,
  N: number,
  W: number,
  b: number,
  s: ConvShape,
  activation: Activation,
  pool: number,
  scratch: ConvScratch,
): void {
  const { xp, t, cols, zeros, idx, val } = scratch;
  if (direct(s, activation)) {
    ex.convDirect(out, x, W, b, N, s.C, s.IH, s.IW, s.F, s.KH, s.KW, s.pad, pool, activation === "relu" ? 1 : 0, xp, t, idx);
    return;
  }
  const [OH, OW] = convOutput(s);
  const K = s.C * s.KH * s.KW;
  const M = OH * OW;
  const P = Math.max(pool, 1);
  const inBytes = s.C * s.IH * s.IW * 4;
  const outBytes = s.F * Math.floor(OH / P) * Math.floor(OW / P) * 4;
  for (let n = 0; n < N; n++) {
    const o = out + n * outBytes;
    const c = P > 1 ? t : o;
    ex.im2col(cols, x + n * inBytes, s.C, s.IH, s.IW, s.KH, s.KW, s.stride, s.pad, OH, OW);
    ex.affine(c, W, cols, zeros, s.F, K, M, idx, val);
    ex.biasRows(c, b, s.F, M);
    activateAt(ex, activation, c, s.F, M);
    if (P > 1) ex.maxPool(o, c, s.F, OH, OW, P);
  }
}
