// The JavaScript side of the Wasm kernel (kernel.ts): its memory and the
// forward pass through it. The module comes from "#kernel": under workerd it
// is imported precompiled (Workers cannot compile Wasm at run time), in Node
// it is read from disk and compiled, elsewhere (the browser page) there is
// none and the JS kernels run.
// N = batch, D = input size, C = classes, K = inputs and M = outputs of a layer.
import { modules } from "#kernel";
import type { Activation } from "../functions";
import type { Layer, Network, OutputKind } from "../network";

interface Exports {
  memory: WebAssembly.Memory;
  affine(out: number, x: number, W: number, b: number, N: number, K: number, M: number, idx: number, val: number): void;
  exp(p: number, n: number): void;
  sigmoid(p: number, n: number): void;
  relu(p: number, n: number): void;
  step(p: number, n: number): void;
  softmax(p: number, N: number, C: number): void;
  f16ToF32(src: number, dst: number, n: number): number;
  pixels(src: number, dst: number, n: number, inv: number): void;
  firstNonFiniteF32(src: number, n: number): number;
}

/** Floats of slack after every buffer: the kernel's last vector of a row may write up to 3 floats past it (16 leaves room to spare). */
const SLACK = 16;
/** Rows per chunk of a batch: a chunk's activations stay in the L1/L2 cache between layers. */
const CHUNK = 32;
const PAGE = 65536;

interface Placed {
  /** Byte offsets of each layer's W and b in the kernel's memory. */
  W: number[];
  b: number[];
  /** The widest layer input or output, for sizing the scratch. */
  width: number;
}

/**
 * One instance of the kernel with its own memory. Weights are copied in once
 * per network (place); activations live in buffers reused across calls.
 */
export class WasmKernel {
  private readonly ex: Exports;
  private top = 64;
  private heap: Float32Array;
  private placed = new WeakMap<Network, Placed>();
  // Reused per forward pass: input chunk, two activation buffers, gather scratch.
  private scratch = { width: 0, x: 0, a: 0, z: 0, idx: 0, val: 0 };

  constructor(
    module: WebAssembly.Module,
    /** Built with relaxed SIMD (fused multiply-add). */
    readonly relaxed: boolean,
  ) {
    this.ex = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.heap = new Float32Array(this.ex.memory.buffer);
  }

  /** Bytes of Wasm memory in use. */
  get bytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /**
   * Calls every export once on a few zeros: V8 compiles a Wasm function on
   * its first call, which would otherwise fall on a first request. The F16
   * conversion, the bulk of a decode, runs over 64 Ki values 16 times so that
   * V8 has cause to tier it up before a model's first decode.
   */
  warm(): void {
    const top = this.top;
    const [x, W, b, out, idx, val] = [16, 256, 16, 16, 16, 16].map((n) => this.alloc(n));
    const big = 1 << 16;
    const [hs, fs] = [big / 2, big].map((n) => this.alloc(n));
    for (let i = 0; i < 16; i++) this.ex.f16ToF32(hs, fs, big);
    this.ex.f16ToF32(x, out, 16);
    this.ex.firstNonFiniteF32(out, 16);
    this.ex.pixels(x, out, 16, 1);
    this.ex.affine(out, x, W, b, 1, 16, 16, idx, val);
    for (const f of ["exp", "sigmoid", "relu", "step"] as const) this.ex[f](out, 16);
    this.ex.softmax(out, 2, 8);
    this.top = top;
  }

  /**
   * Grows the memory by `bytes` beyond what is in use and writes every new
   * page once, so the weights decoded into it later (lazily, on a request)
   * neither grow the memory nor fault its pages in.
   */
  reserve(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    const want = this.top + bytes;
    if (want > have) this.ex.memory.grow(Math.ceil((want - have) / PAGE));
    new Uint8Array(this.ex.memory.buffer, have).fill(0);
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
    const have = this.ex.memory.buffer.byteLength;
    if (this.top > have) this.ex.memory.grow(Math.ceil((this.top - have) / PAGE));
    return at;
  }

  /** The memory as floats; a fresh view after growth detached the old one. */
  f32(): Float32Array {
    if (this.heap.buffer !== this.ex.memory.buffer) this.heap = new Float32Array(this.ex.memory.buffer);
    return this.heap;
  }

  /** Copies the weights of `net` into the kernel's memory, once. */
  place(net: Network): Placed {
    const placed = this.placed.get(net);
    if (placed) return placed;
    const p: Placed = {
      W: net.layers.map((l) => this.alloc(l.W.length)),
      b: net.layers.map((l) => this.alloc(l.b.length)),
      width: Math.max(...net.layers.map((l) => Math.max(l.inSize, l.outSize))),
    };
    this.placed.set(net, p);
    const heap = this.f32();
    net.layers.forEach((l, i) => {
      heap.set(l.W, p.W[i] >> 2);
      heap.set(l.b, p.b[i] >> 2);
    });
    return p;
  }

  /**
   * Decodes one tensor's raw little-endian bytes (F16, or F32 copied as it
   * is) into a region of the kernel's memory kept for the isolate's life,
   * checking every value is finite. Returns the region's byte offset, or
   * { bad } with the index of the first Infinity or NaN (nothing kept then).
   */
  resident(src: Uint8Array, n: number, dtype: "F16" | "F32"): { at: number } | { bad: number } {
    const at = this.alloc(n);
    const keep = this.top;
    let bad: number;
    if (dtype === "F16") {
      // The raw halves go in just above, only for the conversion.
      const ps = this.alloc(Math.ceil(n / 2));
      new Uint8Array(this.ex.memory.buffer).set(src.subarray(0, n * 2), ps);
      bad = this.ex.f16ToF32(ps, at, n);
    } else {
      new Uint8Array(this.ex.memory.buffer).set(src.subarray(0, n * 4), at);
      bad = this.ex.firstNonFiniteF32(at, n);
    }
    this.top = bad < 0 ? keep : at;
    return bad < 0 ? { at } : { bad };
  }

  /**
   * A layer whose W and b live in this kernel's memory (regions from
   * `resident`): JS reads them through views, made afresh when the memory
   * has grown (growth detaches the old ones), so they are never copied out.
   */
  residentLayer(at: { W: number; b: number }, inSize: number, outSize: number, activation: Activation): Layer {
    const memory = this.ex.memory;
    let W = new Float32Array(memory.buffer, at.W, inSize * outSize);
    let b = new Float32Array(memory.buffer, at.b, outSize);
    return {
      get W() {
        if (W.buffer !== memory.buffer) W = new Float32Array(memory.buffer, at.W, inSize * outSize);
        return W;
      },
      get b() {
        if (b.buffer !== memory.buffer) b = new Float32Array(memory.buffer, at.b, outSize);
        return b;
      },
      inSize,
      outSize,
      activation,
    };
  }

  /** Records that the weights of `net` are already in place at these offsets (resident layers), so forward copies nothing in. */
  adopt(net: Network, at: { W: number; b: number }[]): void {
    const width = Math.max(...net.layers.map((l) => Math.max(l.inSize, l.outSize)));
    this.placed.set(net, { W: at.map((a) => a.W), b: at.map((a) => a.b), width });
  }

  /** Scratch for a chunk of CHUNK rows of `width`: sized for whole chunks, so a batch never regrows what a single image sized. */
  private ensureScratch(width: number): typeof this.scratch {
    const s = this.scratch;
    if (width > s.width) {
      s.width = width;
      // The old region is dropped: the scratch only ever grows to the widest layer seen.
      s.x = this.alloc(CHUNK * width);
      s.a = this.alloc(CHUNK * width);
      s.z = this.alloc(CHUNK * width);
      s.idx = this.alloc(width);
      s.val = this.alloc(width);
    }
    return s;
  }

  /**
   * The forward pass of network.ts through the kernel. x is (N, D), or raw
   * pixels (N, D) divided by `scale` chunk by chunk as they go in; returns (N, C).
   */
  forward(net: Network, x: Float32Array | Uint8Array, N: number, output: OutputKind = "probabilities", scale = 1): Float32Array {
    const p = this.place(net);
    const L = net.layers.length;
    const D = net.layers[0].inSize;
    const C = net.layers[L - 1].outSize;
    const s = this.ensureScratch(p.width);
    const y = new Float32Array(N * C);
    let heap = this.f32();
    const bytes = x instanceof Uint8Array ? new Uint8Array(this.ex.memory.buffer) : undefined;
    for (let n = 0; n < N; n += CHUNK) {
      const r = Math.min(CHUNK, N - n);
      if (bytes) {
        // Pixels go into the second activation buffer as bytes, then become floats in x.
        bytes.set(x.subarray(n * D, (n + r) * D), s.z);
        this.ex.pixels(s.z, s.x, r * D, 1 / scale);
      } else heap.set(x.subarray(n * D, (n + r) * D), s.x >> 2);
      let z = s.x;
      for (let i = 0; i < L; i++) {
        const l = net.layers[i];
        const a = z === s.a ? s.z : s.a;
        this.ex.affine(a, z, p.W[i], p.b[i], r, l.inSize, l.outSize, s.idx, s.val);
        if (i < L - 1 || output === "probabilities") this.activate(l.activation, a, r, l.outSize);
        z = a;
      }
      heap = this.f32();
      y.set(heap.subarray(z >> 2, (z >> 2) + r * C), n * C);
    }
    return y;
  }

  private activate(name: Activation, p: number, N: number, C: number): void {
    if (name === "softmax") this.ex.softmax(p, N, C);
    else if (name !== "identity") this.ex[name](p, N * C);
  }

  /** affine of affine.ts through the kernel, copying in and out (for the shared kernel suite). */
  affine(out: Float32Array, x: Float32Array, W: Float32Array, b: Float32Array, N: number, K: number, M: number): Float32Array {
    const [px, pW, pb, po, idx, val] = [x.length, W.length, b.length, out.length, K, K].map((n) => this.alloc(n));
    const heap = this.f32();
    heap.set(x, px >> 2);
    heap.set(W, pW >> 2);
    heap.set(b, pb >> 2);
    this.ex.affine(po, px, pW, pb, N, K, M, idx, val);
    out.set(this.f32().subarray(po >> 2, (po >> 2) + N * M));
    this.top = px;
    return out;
  }

  /** Applies a named activation in place over (N, C), through the kernel. */
  activation(name: Activation, a: Float32Array, C: number = a.length): Float32Array {
    const p = this.alloc(a.length);
    this.f32().set(a, p >> 2);
    this.activate(name, p, a.length / C, C);
    a.set(this.f32().subarray(p >> 2, (p >> 2) + a.length));
    this.top = p;
    return a;
  }

  /** The kernel's vector e^x, in place (its error is tested against Math.exp). */
  exp(a: Float32Array): Float32Array {
    const p = this.alloc(a.length);
    this.f32().set(a, p >> 2);
    this.ex.exp(p, a.length);
    a.set(this.f32().subarray(p >> 2, (p >> 2) + a.length));
    this.top = p;
    return a;
  }

  /**
   * Decodes n F16 values from `src` (raw little-endian bytes) to F32.
   * Returns the values, or the index of the first Infinity or NaN.
   */
  f16ToF32(src: Uint8Array, n: number): Float32Array | number {
    const top = this.top;
    const ps = this.alloc(Math.ceil(n / 2));
    const pd = this.alloc(n);
    new Uint8Array(this.ex.memory.buffer).set(src.subarray(0, n * 2), ps);
    const bad = this.ex.f16ToF32(ps, pd, n);
    const out = bad < 0 ? this.f32().slice(pd >> 2, (pd >> 2) + n) : bad;
    this.top = top;
    return out;
  }

  /** The index of the first Infinity or NaN in `data`, or -1: a scan compiled ahead, fast even on a first request. */
  firstNonFinite(data: Float32Array): number {
    const p = this.alloc(data.length);
    this.f32().set(data, p >> 2);
    const at = this.ex.firstNonFiniteF32(p, data.length);
    this.top = p;
    return at;
  }
}

let simd: WasmKernel | undefined;
let relaxed: WasmKernel | undefined;

/** The plain SIMD kernel, or undefined where there is no Wasm module (the browser page). */
export function simdKernel(): WasmKernel | undefined {
  if (!simd && modules) simd = new WasmKernel(modules.simd, false);
  return simd;
}

/** The relaxed SIMD kernel, or undefined where the runtime lacks relaxed SIMD. */
export function relaxedKernel(): WasmKernel | undefined {
  if (!relaxed && modules?.relaxed) relaxed = new WasmKernel(modules.relaxed, true);
  return relaxed;
}

/** The fastest kernel this runtime has. */
export function wasmKernel(): WasmKernel | undefined {
  return relaxedKernel() ?? simdKernel();
}

// Instantiated and warmed as the module loads (a Worker's global scope may
// take up to a second; this takes about a millisecond), not on the first
// request that needs it.
wasmKernel()?.warm();
