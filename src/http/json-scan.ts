// The common native JSON body, {"inputs": [[784 numbers], ...]} (or "input",
// with "scale", "top_k" and "output"), read straight from its bytes into the
// network's input matrix: no string, no parsed tree, no array of numbers.
// JSON.parse builds 784 numbers per image and costs about what the forward
// pass does; this costs a fraction of it. It takes only bodies it reads in
// full and that pass every check: anything else (nested rows, a bad pixel,
// an unknown field, "scale" after the images, a string escape, a BOM ...)
// returns undefined, and the body is read again by JSON.parse, the schema
// and readJson, which give every error its text and pointer. So a body this
// takes gives exactly what readJson gives, and a body it refuses the same
// error as ever (src/http/json-scan.test.ts holds it to readJson).
// N = batch, D = the model's inputs.
import type { Limits } from "../config";
import type { ModelSpec } from "../model/format";
import { OUTPUT_KINDS, type OutputKind, TOP_K_MAX } from "./inference";
import { inkScale, type Read } from "./input";

// 10^0 .. 10^22: exact doubles, so one division or multiplication by one is correctly rounded.
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_EXACT = 2 ** 53;

/** Not this reader's to take: the full reader decides. */
class Decline extends Error {}
const decline = (): never => {
  throw new Decline();
};

/** A cursor over the body's bytes. */
class Scanner {
  i = 0;
  /** The body as text, decoded on first need: what was read so far is ASCII, so offsets agree. */
  private text?: string;
  constructor(readonly b: Uint8Array) {}

  /** The next byte after whitespace (space, tab, LF, CR); -1 at the end. */
  peek(): number {
    const b = this.b;
    let i = this.i;
    while (i < b.length) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
    return i < b.length ? b[i] : -1;
  }

  expect(c: number): void {
    if (this.peek() !== c) decline();
    this.i++;
  }

  /** A string without escapes or bytes above ASCII, as text. */
  string(): string {
    this.expect(0x22);
    const b = this.b;
    const start = this.i;
    let i = start;
    while (i < b.length && b[i] !== 0x22) {
      if (b[i] === 0x5c || b[i] < 0x20 || b[i] > 0x7e) decline();
      i++;
    }
    if (i >= b.length) decline();
    this.i = i + 1;
    return String.fromCharCode(...b.subarray(start, i));
  }

  /**
   * A non-negative JSON number, the same double JSON.parse gives: digits
   * d (fewer than 2^53) over or times an exact power of ten is one correctly
   * rounded operation (Clinger's fast path); longer numbers go through Number.
   */
  number(): number {
    this.peek();
    const b = this.b;
    const start = this.i;
    let i = start;
    let m = 0;
    let c = b[i];
    // A leading "-" (also "-0") is declined: no pixel or option here is negative.
    if (c === 0x30) {
      i++;
      c = b[i];
    } else if (c >= 0x31 && c <= 0x39) {
      do {
        m = m * 10 + (c - 0x30);
        c = b[++i];
      } while (c >= 0x30 && c <= 0x39);
    } else decline();
    let scale = 0;
    if (c === 0x2e) {
      c = b[++i];
      if (!(c >= 0x30 && c <= 0x39)) decline();
      do {
        m = m * 10 + (c - 0x30);
        scale++;
        c = b[++i];
      } while (c >= 0x30 && c <= 0x39);
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++i];
      // e+n scales up (fewer places after the point), e-n down.
      let sign = -1;
      if (c === 0x2b || c === 0x2d) {
        sign = c === 0x2d ? 1 : -1;
        c = b[++i];
      }
      if (!(c >= 0x30 && c <= 0x39)) decline();
      let e = 0;
      do {
        e = Math.min(e * 10 + (c - 0x30), 1e6);
        c = b[++i];
      } while (c >= 0x30 && c <= 0x39);
      scale += sign * e;
    }
    this.i = i;
    if (m < MAX_EXACT && scale >= 0 && scale <= 22) return m / POW10[scale];
    if (m < MAX_EXACT && scale < 0 && scale >= -22) return m * POW10[-scale];
    this.text ??= new TextDecoder().decode(b);
    return Number(this.text.slice(start, i));
  }
}

/** The fields of the body as the schema would give them. */
interface Fields {
  scale?: number;
  top_k?: number;
  output?: OutputKind;
}

/**
 * A native predict body read from its bytes, when it is one this reader
 * takes (see above); undefined sends it to JSON.parse and readJson.
 */
export function scanPredictJson(bytes: Uint8Array, model: ModelSpec, limits: Limits): Read | undefined {
  try {
    return scan(new Scanner(bytes), model, limits);
  } catch (e) {
    if (e instanceof Decline || e instanceof RangeError) return undefined;
    throw e;
  }
}

function scan(s: Scanner, model: ModelSpec, limits: Limits): Read {
  const D = model.sizes[0];
  const k = inkScale(model);
  const fields: Fields = {};
  const seen = new Set<string>();
  let batch: { N: number; x: Float32Array } | undefined;
  let single = false;
  s.expect(0x7b);
  if (s.peek() === 0x7d) decline();
  for (;;) {
    const key = s.string();
    // A repeated key: JSON.parse keeps the last; the full reader says so.
    if (seen.has(key)) decline();
    seen.add(key);
    s.expect(0x3a);
    if (key === "input" || key === "inputs") {
      if (batch) decline();
      single = key === "input";
      batch = images(s, single, D, fields.scale ?? 1, k, limits);
    } else if (key === "scale") {
      // The pixels were read against scale 1 if they came first.
      if (batch) decline();
      const v = s.number();
      if (!(v > 0 && Number.isFinite(v))) decline();
      fields.scale = v;
    } else if (key === "top_k") {
      const v = s.number();
      if (!(Number.isInteger(v) && v >= 0 && v <= TOP_K_MAX)) decline();
      fields.top_k = v;
    } else if (key === "output") {
      const v = s.string();
      if (!(OUTPUT_KINDS as readonly string[]).includes(v)) decline();
      fields.output = v as OutputKind;
    } else decline();
    const c = s.peek();
    s.i++;
    if (c === 0x7d) break;
    if (c !== 0x2c) decline();
  }
  if (s.peek() !== -1 || !batch) decline();
  return { batch: batch as { N: number; x: Float32Array }, single, labelsOnly: false, options: { output: fields.output, top_k: fields.top_k } };
}

/**
 * One image (`single`) or an array of images, each D numbers in [0, max],
 * into x as readJson's copyPixels puts them: (v / max) · k.
 */
function images(s: Scanner, single: boolean, D: number, max: number, k: number, limits: Limits): { N: number; x: Float32Array } {
  // Room for as many images as the body could hold (two bytes a value at
  // least), never more than the batch limit; cut to N at the end.
  const room = single ? 1 : Math.min(limits.maxBatch, Math.floor(s.b.length / (2 * D)) + 1);
  let x = new Float32Array(room * D);
  let N = 0;
  if (!single) {
    s.expect(0x5b);
    if (s.peek() === 0x5d) decline();
  }
  for (;;) {
    if (N === room) decline();
    s.expect(0x5b);
    row(s, x, N * D, D, max, k);
    s.expect(0x5d);
    N++;
    if (single) break;
    const c = s.peek();
    s.i++;
    if (c === 0x5d) break;
    if (c !== 0x2c) decline();
  }
  if (N < room) x = x.slice(0, N * D);
  return { N, x };
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * D comma-separated numbers in [0, max] into x at `at`, as (v / max) · k.
 * The hot loop of a large body: digits with at most a fraction are read
 * here, in locals; exponents, and the rare long number whose float the
 * bounds below cannot settle, go through number().
 */
function row(s: Scanner, x: Float32Array, at: number, D: number, max: number, k: number): void {
  const b = s.b;
  let i = s.i;
  for (let d = 0; d < D; d++) {
    let c = b[i];
    while (isSpace(c)) c = b[++i];
    if (d > 0) {
      if (c !== 0x2c) decline();
      c = b[++i];
      while (isSpace(c)) c = b[++i];
    }
    const start = i;
    let m = 0;
    let places = 0;
    if (c === 0x30) c = b[++i];
    else if (c >= 0x31 && c <= 0x39) {
      do {
        m = m * 10 + (c - 0x30);
        c = b[++i];
      } while (c >= 0x30 && c <= 0x39);
    } else decline();
    if (c === 0x2e) {
      c = b[++i];
      if (!(c >= 0x30 && c <= 0x39)) decline();
      do {
        m = m * 10 + (c - 0x30);
        places++;
        c = b[++i];
      } while (c >= 0x30 && c <= 0x39);
    }
    if (c !== 0x65 && c !== 0x45 && places <= 22) {
      const v = m / POW10[places];
      if (m < MAX_EXACT) {
        if (!(v <= max)) decline();
        x[at + d] = (v / max) * k;
        continue;
      }
      // 16 digits or more (JSON.stringify writes up to 17): m is off by a few
      // units in its last place, and so is v. (v / max) · k only grows with v,
      // so when both ends of v ± 2^-48·v give the same float, so does the
      // exact value, and that float is the one.
      const lo = v - v * 2 ** -48;
      const hi = v + v * 2 ** -48;
      const f = Math.fround((lo / max) * k);
      if (hi <= max && f === Math.fround((hi / max) * k)) {
        x[at + d] = f;
        continue;
      }
    }
    s.i = start;
    const v = s.number();
    i = s.i;
    if (!(v <= max)) decline();
    x[at + d] = (v / max) * k;
  }
  s.i = i;
}
