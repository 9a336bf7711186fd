// One kernel instance's exports and its memory, with a bump allocator over
// it. Private to src/nn/wasm: the backend (index.ts) and the test entry
// points (testing.ts) each own one instance, and nothing else reaches in.
import type { Activation } from "../functions";

export interface Exports {
  memory: WebAssembly.Memory;
  affine(out: number, x: number, W: number, b: number, N: number, K: number, M: number, idx: number, val: number): void;
  pack(dst: number, W: number, K: number, M: number): void;
  affinePacked(out: number, x: number, Wp: number, b: number, N: number, K: number, M: number, idx: number, val: number): void;
  exp(p: number, n: number): void;
  sigmoid(p: number, n: number): void;
  relu(p: number, n: number): void;
  step(p: number, n: number): void;
  softmax(p: number, N: number, C: number): void;
  f16ToF32(src: number, dst: number, n: number): number;
  pixels(src: number, dst: number, n: number, inv: number): void;
  firstNonFiniteF32(src: number, n: number): number;
  im2col(cols: number, x: number, C: number, IH: number, IW: number, KH: number, KW: number, stride: number, pad: number, OH: number, OW: number): void;
  biasRows(out: number, b: number, F: number, M: number): void;
  maxPool(out: number, x: number, P: number, IH: number, IW: number, size: number): void;
  scale(p: number, n: number, s: number): void;
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
  private top = 64;
  private heap: Float32Array;
  private bytes: Uint8Array;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.heap = new Float32Array(memory.buffer);
    this.bytes = new Uint8Array(memory.buffer);
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
