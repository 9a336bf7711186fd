// The Wasm backend: one instance of the kernel (kernel.ts) with its own
// memory, holding the weights it loaded and running forward passes through
// them. The module comes from "#kernel": under workerd it is imported
// precompiled (Workers cannot compile Wasm at run time), in Node it is read
// from disk and compiled, elsewhere (the browser page) there is none and the
// JS backend runs.
// N = batch, D = input size, C = classes, K = inputs and M = outputs of a layer.
import { modules } from "#kernel";
import { type Backend, type LoadedNetwork, type NetworkSpec, NonFiniteWeightError, type WeightTensor } from "../backend";
import type { Network } from "../network";
import { Arena, activateAt, type Exports, instantiate } from "./arena";

/** Rows per chunk of a batch: a chunk's activations stay in the L1/L2 cache between layers. */
const CHUNK = 32;

/** Where one loaded network's weights sit: byte offsets of each layer's W and b. */
interface Placed {
  spec: NetworkSpec;
  W: number[];
  b: number[];
  /** The widest layer input or output, for sizing the scratch. */
  width: number;
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
  private scratch = { width: 0, x: 0, a: 0, z: 0, idx: 0, val: 0 };

  constructor(
    module: WebAssembly.Module,
    /** Built with relaxed SIMD (fused multiply-add). */
    readonly relaxed: boolean,
  ) {
    this.name = relaxed ? "Wasm relaxed SIMD" : "Wasm SIMD";
    this.ex = instantiate(module);
    this.arena = new Arena(this.ex.memory);
  }

  /** Bytes of Wasm memory this backend holds. */
  get memoryBytes(): number {
    return this.arena.size;
  }

  /**
   * Calls every export once on a few zeros, so each is compiled before a
   * request needs it; then, when asked, reserves memory for `reserveBytes`
   * of weights. Start-up asks for none (src/startup.ts): a model's first
   * decode grows the memory it needs, which costs that request less than
   * writing every model's pages costs every cold start.
   */
  warm(reserveBytes = 0): void {
    const { ex, arena } = this;
    const mark = arena.mark();
    const [x, W, b, out, idx, val] = [64, 256, 16, 64, 16, 64].map((n) => arena.alloc(n));
    ex.f16ToF32(x, out, 16);
    ex.firstNonFiniteF32(out, 16);
    ex.pixels(x, out, 16, 1);
    ex.affine(out, x, W, b, 1, 16, 16, idx, val);
    ex.affine(out, x, W, b, 4, 16, 16, idx, val);
    for (const f of ["exp", "sigmoid", "relu", "step"] as const) ex[f](out, 16);
    ex.softmax(out, 2, 8);
    arena.release(mark);
    if (reserveBytes > 0) arena.reserve(reserveBytes);
  }

  /**
   * Decodes every weight straight into the kernel's memory (F16 converted
   * there, F32 copied as it is, any other dtype through its JS values),
   * proving each finite on the way in. Nothing is kept if one is not.
   */
  load(spec: NetworkSpec, layers: { W: WeightTensor; b: WeightTensor }[]): LoadedNetwork {
    const { sizes, activations } = spec;
    const mark = this.arena.mark();
    let p: Placed;
    try {
      p = {
        spec: { sizes: [...sizes], activations: [...activations] },
        W: layers.map(({ W }, i) => this.resident(W, sizes[i] * sizes[i + 1])),
        b: layers.map(({ b }, i) => this.resident(b, sizes[i + 1])),
        width: Math.max(...sizes),
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
    const width = t.dtype === "F16" ? 2 : t.dtype === "F32" ? 4 : 0;
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
      else arena.f32().set(t.values(), at >> 2);
      bad = ex.firstNonFiniteF32(at, n);
    }
    arena.release(keep);
    // The scalar decoder names the value (the error path only).
    if (bad >= 0) throw new NonFiniteWeightError(t.name, bad, t.values()[bad]);
    return at;
  }

  /** Scratch for a chunk of CHUNK rows of `width`: sized for whole chunks, so a batch never regrows what a single image sized. */
  private ensureScratch(width: number): typeof this.scratch {
    const s = this.scratch;
    if (width > s.width) {
      s.width = width;
      // The old region is dropped: the scratch only ever grows to the widest layer loaded.
      s.x = this.arena.alloc(CHUNK * width);
      s.a = this.arena.alloc(CHUNK * width);
      s.z = this.arena.alloc(CHUNK * width);
      s.idx = this.arena.alloc(width);
      // Four rows' values for each input they list together.
      s.val = this.arena.alloc(4 * width);
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
    const s = this.ensureScratch(p.width);
    const y = new Float32Array(N * C);
    for (let n = 0; n < N; n += CHUNK) {
      const r = Math.min(CHUNK, N - n);
      if (x instanceof Uint8Array) {
        // Pixels go into the second activation buffer as bytes, then become floats in x.
        arena.u8().set(x.subarray(n * D, (n + r) * D), s.z);
        ex.pixels(s.z, s.x, r * D, 1 / scale);
      } else arena.f32().set(x.subarray(n * D, (n + r) * D), s.x >> 2);
      let z = s.x;
      for (let i = 0; i < L; i++) {
        const a = z === s.a ? s.z : s.a;
        ex.affine(a, z, p.W[i], p.b[i], r, sizes[i], sizes[i + 1], s.idx, s.val);
        if (i < L - 1 || softmax) activateAt(ex, activations[i], a, r, sizes[i + 1]);
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
        W: heap.slice(p.W[i] >> 2, (p.W[i] >> 2) + sizes[i] * sizes[i + 1]),
        b: heap.slice(p.b[i] >> 2, (p.b[i] >> 2) + sizes[i + 1]),
        inSize: sizes[i],
        outSize: sizes[i + 1],
        activation,
      })),
    };
  }
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
