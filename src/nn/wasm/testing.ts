// The kernel's exports one at a time, for the shared kernel suite
// (src/nn/kernels.test.ts): each call copies its arrays into an instance of
// its own and the answer back out. Nothing here serves requests.
import { modules } from "#kernel";
import type { ConvShape } from "../conv";
import type { Activation } from "../functions";
import { Arena, activateAt, convLayerAt, convNeeds, type Exports, filterSize, instantiate, placeFilters } from "./arena";

export class KernelProbe {
  private readonly ex: Exports;
  private readonly arena: Arena;

  constructor(module: WebAssembly.Module) {
    this.ex = instantiate(module);
    this.arena = new Arena(this.ex);
  }

  /** Copies each array into a fresh region, runs `f` on their offsets, then frees them all. */
  private with<T>(arrays: Float32Array[], extra: number[], f: (at: number[]) => T): T {
    const mark = this.arena.mark();
    const at = [...arrays.map((a) => this.arena.alloc(a.length)), ...extra.map((n) => this.arena.alloc(n))];
    arrays.forEach((a, i) => {
      this.arena.f32().set(a, at[i] >> 2);
    });
    try {
      return f(at);
    } finally {
      this.arena.release(mark);
    }
  }

  private read(out: Float32Array, at: number): Float32Array {
    out.set(this.arena.f32().subarray(at >> 2, (at >> 2) + out.length));
    return out;
  }

  /** affine of affine.ts: out = x·W + b; x is (N, K), W is (K, M), b is (M); out is (N, M). */
  affine(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
    return this.with([x, W, b], [out.length, K, 4 * K], ([px, pW, pb, po, idx, val]) => {
      this.ex.affine(po, px, pW, pb, N, K, M, idx, val);
      return this.read(out, po);
    });
  }

  /** The same product through W packed by the kernel's `pack` and its affinePacked (the dense layers' path; scratch for groups of sixteen pairs). */
  affinePacked(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
    return this.with([x, W, b], [out.length, Math.ceil(M / 16) * 16 * K, 16 + 16 * K, 32 * K], ([px, pW, pb, po, Wp, idx, val]) => {
      this.ex.pack(Wp, pW, K, M);
      this.ex.affinePacked(po, px, Wp, pb, N, K, M, idx, val);
      return this.read(out, po);
    });
  }

  /** affineI8 of affine.ts through the kernel: q packed by packI8, then affineI8 over the pixels (scratch for groups of sixteen pairs). */
  affineI8(
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
    const KP = Math.ceil(K / 2);
    const sizes = [Math.ceil(pixels.length / 4), Math.ceil((K * M) / 4), Math.ceil(M / 16) * KP * 8, out.length, 16 + 16 * KP, 32 * KP];
    return this.with([s, b], sizes, ([ps, pb, pp, pq, Wq, po, idx, val]) => {
      this.arena.u8().set(pixels, pp);
      this.arena.u8().set(new Uint8Array(q.buffer, q.byteOffset, q.length), pq);
      this.ex.packI8(Wq, pq, K, M);
      this.ex.affineI8(po, pp, Wq, pb, ps, scale, N, K, M, idx, val);
      return this.read(out, po);
    });
  }

  /** conv of conv.ts through the kernel, as the backend runs a convolution (placeFilters once, then convLayerAt). x is (N, C, IH, IW); out is (N, F, OH, OW). */
  conv(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, s: ConvShape): Float32Array {
    return this.convLayer(out, x, W, b, N, s, "identity", 0);
  }

  /** A whole convolution layer as the backend runs it: conv, the activation, max pooling (pool ≤ 1: none); out is (N, F, PH, PW). */
  convLayer(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, s: ConvShape, activation: Activation, pool: number): Float32Array {
    const n = convNeeds(s, activation);
    const sizes = [out.length, filterSize(s, activation), n.xp, n.t, n.cols, n.K, n.val];
    return this.with([x, W, b, new Float32Array(n.M)], sizes, ([px, pW, pb, zeros, po, filters, xp, t, cols, idx, val]) => {
      placeFilters(this.ex, filters, pW, s, activation);
      convLayerAt(this.ex, po, px, N, filters, pb, s, activation, pool, { xp, t, cols, zeros, idx, val });
      return this.read(out, po);
    });
  }

  /** maxPool of conv.ts: x is (N, C, IH, IW); out is (N, C, ⌊IH/size⌋, ⌊IW/size⌋). */
  maxPool(out: Float32Array, x: Float32Array, N: number, C: number, IH: number, IW: number, size: number): Float32Array {
    return this.with([x], [out.length], ([px, po]) => {
      this.ex.maxPool(po, px, N * C, IH, IW, size);
      return this.read(out, po);
    });
  }

  /** A named activation in place over (N, C). */
  activation(name: Activation, a: Float32Array, C: number = a.length): Float32Array {
    return this.with([a], [], ([p]) => {
      activateAt(this.ex, name, p, a.length / C, C);
      return this.read(a, p);
    });
  }

  /** The kernel's vector e^x, in place. */
  exp(a: Float32Array): Float32Array {
    return this.with([a], [], ([p]) => {
      this.ex.exp(p, a.length);
      return this.read(a, p);
    });
  }

  /** n F16 values (raw little-endian bytes) to F32, or the index of the first Infinity or NaN. */
  f16ToF32(src: Uint8Array, n: number): Float32Array | number {
    return this.with([], [Math.ceil(n / 2), n], ([ps, pd]) => {
      this.arena.u8().set(src.subarray(0, n * 2), ps);
      const bad = this.ex.f16ToF32(ps, pd, n);
      return bad < 0 ? this.read(new Float32Array(n), pd) : bad;
    });
  }

  /** I8 values to F32, one scale per column (rows of scale.length) or per filter (scale.length runs). */
  i8ToF32(q: Int8Array, scale: Float32Array, axis: "column" | "filter"): Float32Array {
    return this.with([scale], [Math.ceil(q.length / 4), q.length], ([ps, pq, pd]) => {
      this.arena.u8().set(new Uint8Array(q.buffer, q.byteOffset, q.length), pq);
      this.ex.i8ToF32(pq, ps, pd, q.length, scale.length, axis === "filter" ? 1 : 0);
      return this.read(new Float32Array(q.length), pd);
    });
  }

  /** The index of the first Infinity or NaN in `data`, or -1. */
  firstNonFinite(data: Float32Array): number {
    return this.with([data], [], ([p]) => this.ex.firstNonFiniteF32(p, data.length));
  }
}

/** Probes of each kernel build this runtime has (none where it has no Wasm kernel). */
export function kernelProbes(): { simd?: KernelProbe; relaxed?: KernelProbe } {
  return {
    simd: modules ? new KernelProbe(modules.simd) : undefined,
    relaxed: modules?.relaxed ? new KernelProbe(modules.relaxed) : undefined,
  };
}
