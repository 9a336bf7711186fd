// The Wasm backend: one instance of the kernel (kernel.ts) with its own
// memory, holding the weights it loaded and running forward passes through
// them. The module comes from "#kernel": under workerd it is imported
// precompiled (Workers cannot compile Wasm at run time), in Node it is read
// from disk and compiled, elsewhere (the browser page) there is none and the
// JS backend runs.
// N = batch, D = input size, C = classes, K = inputs and M = outputs of a layer.
import { modules } from "#kernel";
import {
  type Backend,
  integerFirstLayer,
  type LoadedNetwork,
  layerShape,
  type NetworkSpec,
  NonFiniteWeightError,
  tensorSizes,
  type WeightTensor,
} from "../backend";
import type { ConvShape } from "../conv";
import type { Activation } from "../functions";
import type { Network } from "../network";
import { Arena, activateAt, type ConvNeeds, convLayerAt, convNeeds, type Exports, filterSize, filtersOut, instantiate, placeFilters } from "./arena";

/** Rows per chunk of a batch: a chunk's activations stay in the L1/L2 cache between layers. */
const CHUNK = 32;
/** Pairs of rows whose lists affinePacked keeps at once (GROUP in kernel.ts): a chunk's sixteen pairs. */
const PAIRS = 16;

/** Scratch sizes, in floats, a network needs beyond its chunk buffers. */
interface Needs extends ConvNeeds {
  /** The widest layer input or output (flat, after pooling). */
  width: number;
}

/**
 * Where one loaded network's weights sit: byte offsets of each layer's W and
 * b. A dense layer's W is packed in panels of sixteen outputs (kernel.ts
 * `pack`), a convolution's filters as convLayerAt reads them (arena.ts `placeFilters`).
 */
interface Placed {
  spec: NetworkSpec;
  W: number[];
  b: number[];
  /** A first layer of I8 weights, packed for affineI8 (kernel.ts `packI8`), and its column scales: what forwardPixels runs. */
  int8?: { W: number; s: number };
  needs: Needs;
}

function needsOf(spec: NetworkSpec): Needs {
  const width = Math.max(...spec.sizes);
  // affinePacked gathers up to `width` inputs for each of PAIRS pairs of rows, two values each.
  const n: Needs = { width, xp: 0, t: 0, cols: 0, M: 0, K: width, val: 2 * PAIRS * width };
  spec.layers?.forEach((l, i) => {
    if (!l.conv) return;
    const c = convNeeds(l.conv, spec.activations[i]);
    for (const k of ["xp", "t", "cols", "M", "K", "val"] as const) n[k] = Math.max(n[k], c[k]);
  });
  return n;
}

/**
 * A backend over one kernel instance. Weights are decoded straight into its
 * memory by `load` and stay there while the backend lives; dropping the
 * backend frees all of it. Activations live in scratch reused across calls.
 */
export class WasmBackend implements Backend {
  readonly name: string;
  private readonly ex: Exports;
  private readonly arena: Arena;
  // Reused per forward pass: input chunk, two activation buffers, gather scratch.
  private scratch = { width: 0, x: 0, a: 0, z: 0, K: 0, idx: 0, valSize: 0, val: 0, xpSize: 0, xp: 0, tSize: 0, t: 0, colsSize: 0, cols: 0, M: 0, zeros: 0 };

  constructor(
    module: WebAssembly.Module,
    /** Built with relaxed SIMD (fused multiply-add). */
    readonly relaxed: boolean,
  ) {
    this.name = relaxed ? "Wasm relaxed SIMD" : "Wasm SIMD";
    this.ex = instantiate(module);
    this.arena = new Arena(this.ex);
  }

  /** Bytes of Wasm memory this backend holds. */
  get memoryBytes(): number {
    return this.arena.size;
  }

  /**
   * Decodes every weight straight into the kernel's memory (F16 converted
   * there, F32 copied as it is, I8 dequantised there (i8ToF32), any
   * other dtype through its JS values: the same F32 values the JS backend runs),
   * proving each finite on the way in. Nothing is kept if one is not. A
   * first dense layer of I8 weights is also packed as integers, for pixels.
   */
  load(spec: NetworkSpec, layers: { W: WeightTensor; b: WeightTensor }[]): LoadedNetwork {
    const { sizes, activations } = spec;
    const mark = this.arena.mark();
    let p: Placed;
    try {
      const own: NetworkSpec = { sizes: [...sizes], activations: [...activations], layers: activations.map((_, i) => layerShape(spec, i)) };
      p = {
        spec: own,
        W: layers.map(({ W }, i) => {
          const conv = own.layers?.[i]?.conv;
          return conv ? this.filters(W, conv, activations[i]) : this.packed(W, sizes[i], sizes[i + 1]);
        }),
        b: layers.map(({ b }, i) => this.resident(b, tensorSizes(own, i).b)),
        int8: integerFirstLayer(own, layers[0].W) ? this.packedI8(layers[0].W, sizes[0], sizes[1]) : undefined,
        needs: needsOf(own),
      };
    } catch (e) {
      this.arena.release(mark);
      throw e;
    }
    return {
      sizes: p.spec.sizes,
      forward: (x, N, opts) => this.forward(p, x, N, opts?.softmax ?? true, 1),
      forwardPixels: (pixels, N, scale, opts) => this.forward(p, pixels, N, opts?.softmax ?? true, scale),
      softmax: (a, C) => this.softmax(a, C),
      toNetwork: () => this.copyOut(p),
    };
  }

  /** One tensor of n values into a region kept for the backend's life; returns its byte offset. */
  private resident(t: WeightTensor, n: number): number {
    const { ex, arena } = this;
    const width = t.dtype === "F16" ? 2 : t.dtype === "F32" ? 4 : t.dtype === "I8" ? 1 : 0;
    const count = width ? t.bytes.byteLength / width : t.values().length;
    if (count !== n) throw new Error(`tensor "${t.name}" holds ${count} values; the network's shape needs ${n}`);
    const at = arena.alloc(n);
    const keep = arena.mark();
    let bad: number;
    if (t.dtype === "F16") {
      // The raw halves go in just above, only for the conversion.
      const ps = arena.alloc(Math.ceil(n / 2));
      arena.u8().set(t.bytes, ps);
      bad = ex.f16ToF32(ps, at, n);
    } else {
      if (t.dtype === "F32") arena.u8().set(t.bytes, at);
      else if (t.dtype === "I8" && t.scale) {
        // The bytes and scales go in just above, only for the conversion.
        const G = t.scale.values.length;
        const pq = arena.alloc(Math.ceil(n / 4));
        const ps = arena.alloc(G);
        arena.u8().set(t.bytes, pq);
        arena.f32().set(t.scale.values, ps >> 2);
        ex.i8ToF32(pq, ps, at, n, G, t.scale.axis === "filter" ? 1 : 0);
      } else arena.f32().set(t.values(), at >> 2);
      bad = ex.firstNonFiniteF32(at, n);
    }
    arena.release(keep);
    // The scalar decoder names the value (the error path only).
    if (bad >= 0) throw new NonFiniteWeightError(t.name, bad, t.values()[bad]);
    return at;
  }

  /**
   * A dense layer's W (K, M) packed for affinePacked into a region kept for
   * the backend's life (⌈M/16⌉·16·K floats); decoded just above it first,
   * and that copy freed. Returns the packed W's byte offset.
   */
  private packed(t: WeightTensor, K: number, M: number): number {
    const { ex, arena } = this;
    const at = arena.alloc(Math.ceil(M / 16) * 16 * K);
    const keep = arena.mark();
    ex.pack(at, this.resident(t, K * M), K, M);
    arena.release(keep);
    return at;
  }

  /**
   * A first layer's I8 weights q (K, M) packed for affineI8 (⌈M/16⌉·⌈K/2⌉·32
   * bytes: 401 408 for mnist-mlp) and its M column scales,
   * into regions kept for the backend's life; beside the F32 panels `packed`
   * made from the same tensor, which JSON and FP32 inputs run.
   */
  private packedI8(t: WeightTensor, K: number, M: number): { W: number; s: number } {
    const { ex, arena } = this;
    const W = arena.alloc(Math.ceil(M / 16) * Math.ceil(K / 2) * 8);
    const s = arena.alloc(M);
    // The scales of the last panel's padding columns are 0, as are their weights.
    arena.f32().fill(0, s >> 2, (s >> 2) + M + 16);
    arena.f32().set((t.scale as { values: Float32Array }).values, s >> 2);
    const keep = arena.mark();
    const pq = arena.alloc(Math.ceil((K * M) / 4));
    arena.u8().set(t.bytes, pq);
    ex.packI8(W, pq, K, M);
    arena.release(keep);
    return { W, s };
  }

  /**
   * A convolution's filters (F, K) placed as convLayerAt reads them (packed
   * for convDirect once here, not on every call) into a region kept for the
   * backend's life; decoded just above it first, and that copy freed.
   */
  private filters(t: WeightTensor, s: ConvShape, activation: Activation): number {
    const { ex, arena } = this;
    const at = arena.alloc(filterSize(s, activation));
    const keep = arena.mark();
    placeFilters(ex, at, this.resident(t, s.F * s.C * s.KH * s.KW), s, activation);
    arena.release(keep);
    return at;
  }

  /**
   * Scratch for a chunk of CHUNK rows of `width`, and for one image's
   * convolutions: sized for whole chunks, so a batch never regrows what a
   * single image sized. Each region only ever grows, to the largest network
   * loaded; the old one is dropped.
   */
  private ensureScratch(n: Needs): typeof this.scratch {
    const s = this.scratch;
    const { arena } = this;
    if (n.width > s.width) {
      s.width = n.width;
      s.x = arena.alloc(CHUNK * n.width);
      s.a = arena.alloc(CHUNK * n.width);
      s.z = arena.alloc(CHUNK * n.width);
    }
    if (n.K > s.K) {
      s.K = n.K;
      // affinePacked's lists for a group of PAIRS pairs of rows: a count and K
      // entries each (convDirect's tap offsets need K).
      s.idx = arena.alloc(PAIRS + PAIRS * n.K);
    }
    if (n.val > s.valSize) {
      // affinePacked's two values per listed input, for each pair of the group; affine's four rows' values (im2col convolutions).
      s.valSize = n.val;
      s.val = arena.alloc(n.val);
    }
    if (n.xp > s.xpSize) {
      s.xpSize = n.xp;
      s.xp = arena.alloc(n.xp);
    }
    if (n.t > s.tSize) {
      s.tSize = n.t;
      s.t = arena.alloc(n.t);
    }
    if (n.cols > s.colsSize) {
      s.colsSize = n.cols;
      s.cols = arena.alloc(n.cols);
    }
    if (n.M > s.M) {
      // affine's bias for a convolution (the filters' biases are added after): zeros, slack included.
      s.M = n.M;
      s.zeros = arena.alloc(n.M);
      arena.f32().fill(0, s.zeros >> 2, (s.zeros >> 2) + n.M + 16);
    }
    return s;
  }

  /**
   * The forward pass of network.ts through the kernel. x is (N, D), or raw
   * pixels (N, D) divided by `scale` chunk by chunk as they go in; returns (N, C).
   */
  private forward(p: Placed, x: Float32Array | Uint8Array, N: number, softmax: boolean, scale: number): Float32Array {
    const { ex, arena } = this;
    const { sizes, activations } = p.spec;
    const L = activations.length;
    const D = sizes[0];
    const C = sizes[L];
    const s = this.ensureScratch(p.needs);
    const shapes = p.spec.layers ?? [];
    const y = new Float32Array(N * C);
    for (let n = 0; n < N; n += CHUNK) {
      const r = Math.min(CHUNK, N - n);
      // Pixels for an integer first layer stay bytes, in x.
      const int8 = x instanceof Uint8Array ? p.int8 : undefined;
      if (int8) arena.u8().set(x.subarray(n * D, (n + r) * D), s.x);
      else if (x instanceof Uint8Array) {
        // Pixels go into the second activation buffer as bytes, then become floats in x.
        arena.u8().set(x.subarray(n * D, (n + r) * D), s.z);
        ex.pixels(s.z, s.x, r * D, 1 / scale);
      } else arena.f32().set(x.subarray(n * D, (n + r) * D), s.x >> 2);
      let z = s.x;
      for (let i = 0; i < L; i++) {
        const a = z === s.a ? s.z : s.a;
        const { conv, pool, scale: dropout } = shapes[i] ?? {};
        if (dropout !== undefined) ex.scale(z, r * sizes[i], dropout);
        if (i === 0 && int8) {
          ex.affineI8(a, z, int8.W, p.b[0], int8.s, scale, r, D, sizes[1], s.idx, s.val);
          if (L > 1 || softmax) activateAt(ex, activations[0], a, r, sizes[1]);
        } else if (conv) convLayerAt(ex, a, z, r, p.W[i], p.b[i], conv, activations[i], pool ?? 0, s);
        else {
          ex.affinePacked(a, z, p.W[i], p.b[i], r, sizes[i], sizes[i + 1], s.idx, s.val);
          if (i < L - 1 || softmax) activateAt(ex, activations[i], a, r, sizes[i + 1]);
        }
        z = a;
      }
      y.set(arena.f32().subarray(z >> 2, (z >> 2) + r * C), n * C);
    }
    return y;
  }

  /** The kernel's softmax over the rows of a (N, C), copied in and out. */
  private softmax(a: Float32Array, C: number): Float32Array {
    const { ex, arena } = this;
    const mark = arena.mark();
    const p = arena.alloc(a.length);
    arena.f32().set(a, p >> 2);
    ex.softmax(p, a.length / C, C);
    a.set(arena.f32().subarray(p >> 2, (p >> 2) + a.length));
    arena.release(mark);
    return a;
  }

  private copyOut(p: Placed): Network {
    const heap = this.arena.f32();
    const { sizes, activations } = p.spec;
    return {
      layers: activations.map((activation, i) => ({
        W: p.spec.layers?.[i]?.conv ? filtersOut(heap, p.W[i] >> 2, p.spec.layers[i].conv, activation) : unpack(heap, p.W[i] >> 2, sizes[i], sizes[i + 1]),
        b: heap.slice(p.b[i] >> 2, (p.b[i] >> 2) + tensorSizes(p.spec, i).b),
        inSize: sizes[i],
        outSize: sizes[i + 1],
        activation,
        ...layerShape(p.spec, i),
      })),
    };
  }
}

/** W (K, M) back out of the panels kernel.ts `pack` wrote from heap[at]: W[k·M + j] = Wp[(⌊j/16⌋·K + k)·16 + j mod 16]. */
function unpack(heap: Float32Array, at: number, K: number, M: number): Float32Array {
  const W = new Float32Array(K * M);
  for (let k = 0; k < K; k++) for (let j = 0; j < M; j++) W[k * M + j] = heap[at + ((j >> 4) * K + k) * 16 + (j & 15)];
  return W;
}

/**
 * A Wasm backend of its own: a new kernel instance with its own memory. The
 * relaxed SIMD build where the runtime has it, unless `relaxed` says which;
 * undefined where this runtime has no such kernel (the browser page).
 */
export function createWasmBackend(relaxed = modules?.relaxed !== undefined): WasmBackend | undefined {
  const module = relaxed ? modules?.relaxed : modules?.simd;
  return module && new WasmBackend(module, relaxed);
}
