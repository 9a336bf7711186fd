// Every request body becomes the network's input matrix x (N, D) here:
// native JSON images, raw and IDX binary bodies, and Open Inference Protocol
// tensors. One scaling rule, one batch check and one error for a bad element,
// which names it with a JSON pointer.
// N = batch, D = the model's inputs (784 for 28×28).
import { IdxError, isIdxImages, parseIdxImages } from "../data/idx";
import type { ModelHeader } from "../model/format";
import type { Limits } from "./env";
import { inflate, isGzip } from "./encoding";
import { badRequest, ProblemError } from "./problem";

/** A JSON image: D numbers, or rows × cols nested arrays (28 rows of 28). */
export type JsonImage = (number | number[])[];

/** x is (N, D), ready for the forward pass. */
/**
 * N images for the network: as floats x (N, D), or as raw bytes (N, D) that
 * become x = pixels / scale chunk by chunk inside the forward pass, so a large
 * binary batch never has a whole Float32 copy.
 */
export type Batch = { N: number; x: Float32Array } | { N: number; pixels: Uint8Array; scale: number };

/** What a body's Content-Type makes of it; decided once, here. */
export type BodyKind = "json" | "binary";

const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

/** JSON for application/json and its +json relatives; everything else is binary pixels. */
export function bodyKind(contentType: string | undefined): BodyKind {
  return JSON_TYPE.test(contentType ?? "") ? "json" : "binary";
}

/** Checks the batch size: none is a 400, more than MAX_BATCH a 413. */
export function checkBatch(N: number, limits: Limits, pointer: string): void {
  if (N > limits.maxBatch)
    throw new ProblemError(413, {
      detail: `${N} images in one request; the limit is ${limits.maxBatch} (MAX_BATCH). Split the batch.`,
      limit: limits.maxBatch,
    });
  if (N === 0) badRequest("no images: send at least one", pointer);
}

/**
 * The one scaling rule: a value v in [0, max] is v / max of full ink, and the
 * model takes full ink as 255 / input_scale. Dividing each value (rather than
 * multiplying by 1 / max) keeps any positive max finite, however small.
 */
function inkScale(model: ModelHeader): number {
  return 255 / model.inputScale;
}

/** How a value is checked: its range, and whether it must be a whole number. */
export interface PixelRule {
  max: number;
  integer: boolean;
  /** Names the accepted values in errors, e.g. "a pixel value in [0, 1]". */
  what: string;
  hint?: string;
}

/** The one error for a bad element. */
function badPixel(v: unknown, rule: PixelRule, pointer: string): never {
  badRequest(`${describeValue(v)} is not ${rule.what}${rule.hint ?? ""}`, pointer);
}

/**
 * The one pixel loop: copies `count` values of `src` from `from` into x at
 * `to`, checking and scaling each; `at(i)` is the JSON pointer of value i.
 */
function copyPixels(
  src: ArrayLike<unknown>,
  from: number,
  count: number,
  x: Float32Array,
  to: number,
  rule: PixelRule,
  k: number,
  at: (i: number) => string,
): void {
  const { max, integer } = rule;
  for (let i = 0; i < count; i++) {
    const v = src[from + i];
    if (typeof v !== "number" || !(v >= 0 && v <= max) || (integer && !Number.isInteger(v))) badPixel(v, rule, at(i));
    x[to + i] = (v / max) * k;
  }
}

/**
 * Copies JSON images into x. `scale` is the top of the value range: 1 when
 * values are in [0, 1], 255 for raw bytes. `base` is the JSON pointer of the
 * array of images, or of the single image.
 */
export function jsonImages(images: JsonImage[], scale: number, model: ModelHeader, limits: Limits, base: string, single: boolean): Batch {
  const D = model.sizes[0];
  const [rows, cols] = model.inputShape.length === 2 ? model.inputShape : [1, D];
  const N = images.length;
  checkBatch(N, limits, base);
  const rule: PixelRule = { max: scale, integer: false, what: `a pixel value in [0, ${scale}]`, hint: scale === 1 ? ' (send "scale": 255 for raw bytes)' : "" };
  const k = inkScale(model);
  const x = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const img = images[n];
    const at = single ? base : `${base}/${n}`;
    if (!Array.isArray(img)) badRequest(`image must be an array of ${D} numbers or ${rows} rows of ${cols}`, at);
    if (img.length === D && !Array.isArray(img[0])) {
      copyPixels(img, 0, D, x, n * D, rule, k, (i) => `${at}/${i}`);
    } else if (img.length === rows && Array.isArray(img[0])) {
      for (let r = 0; r < rows; r++) {
        const row = img[r];
        if (!Array.isArray(row) || row.length !== cols) badRequest(`row must be an array of ${cols} numbers`, `${at}/${r}`);
        copyPixels(row, 0, cols, x, n * D + r * cols, rule, k, (j) => `${at}/${r}/${j}`);
      }
    } else {
      badRequest(`image has ${img.length} elements; expected ${D} numbers or ${rows} rows of ${cols}`, at);
    }
  }
  return { x, N };
}

/** An Open Inference Protocol input tensor, as the schema has checked it. */
export interface Tensor {
  shape: number[];
  datatype: string;
  data: unknown[];
}

const TENSOR_RULES: Record<string, PixelRule> = {
  FP32: { max: 1, integer: false, what: "an FP32 pixel value in [0, 1]" },
  UINT8: { max: 255, integer: true, what: "a UINT8 pixel value in [0, 255]" },
};

/**
 * An OIP tensor of shape [N, D], [N, rows, cols] or [N, 1, rows, cols]:
 * `data` flat or nested to the shape. `at` is the tensor's JSON pointer.
 */
export function tensorImages(tensor: Tensor, model: ModelHeader, limits: Limits, at: string): Batch {
  const { shape, datatype } = tensor;
  const D = model.sizes[0];
  const rule = TENSOR_RULES[datatype];
  if (!rule) badRequest(`datatype "${datatype}" is not supported; use FP32 (values in [0, 1]) or UINT8 (0-255)`, `${at}/datatype`);
  const image = shape.slice(1).filter((d, i) => !(d === 1 && i === 0 && shape.length === 4));
  const N = shape[0];
  const fits = shape.length >= 2 && N >= 1 && (image.join() === String(D) || image.join() === model.inputShape.join());
  if (!fits) badRequest(`shape [${shape}] is not a batch of images; use [N, ${D}] or [N, ${model.inputShape.join(", ")}] with N ≥ 1`, `${at}/shape`);
  checkBatch(N, limits, `${at}/shape`);
  const total = N * D;
  const k = inkScale(model);
  const x = new Float32Array(total);
  const data = tensor.data;
  // The flat case is the common one: one tight loop.
  if (data.length === total && !Array.isArray(data[0])) {
    copyPixels(data, 0, total, x, 0, rule, k, (i) => `${at}/data/${i}`);
    return { x, N };
  }
  let n = 0;
  // Nested data may go no deeper than the shape: the depth is bounded, so is
  // the recursion, whatever the client sends.
  const walk = (v: unknown, ptr: string, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= shape.length) badRequest(`data is nested deeper than shape [${shape}]`, ptr);
      for (let i = 0; i < v.length; i++) walk(v[i], `${ptr}/${i}`, depth + 1);
      return;
    }
    if (n >= total) badRequest(`more values than shape [${shape}] holds (${total})`, ptr);
    copyPixels([v], 0, 1, x, n++, rule, k, () => ptr);
  };
  walk(data, `${at}/data`, 0);
  if (n !== total) badRequest(`${n} values but shape [${shape}] needs ${total}`, `${at}/data`);
  return { x, N };
}

/** Names a bad value without echoing it whole: a client's array or string may be huge. */
export function describeValue(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 20 ? `a string ("${v.slice(0, 20)}…")` : `"${v}"`;
  return v === null ? "null" : typeof v === "object" ? "an object" : String(v);
}

/**
 * The body's bytes. A declared Content-Encoding was decoded already
 * (src/http/encoding.ts). Without one, gzip magic suggests a compressed
 * upload; raw pixels may start with the same two bytes, so they are taken as
 * they are when inflating fails.
 */
export async function binaryBody(raw: Uint8Array, inflated: boolean, limits: Limits): Promise<Uint8Array> {
  if (!inflated && isGzip(raw)) return (await inflate(raw, limits.maxBodyBytes, false)) ?? raw;
  return raw;
}

/**
 * A binary body: N×D raw pixel bytes (0 = background, 255 = ink), or a whole
 * IDX3 image file with its 16-byte header (magic 2051).
 */
export function binaryImages(bytes: Uint8Array, model: ModelHeader, limits: Limits): Batch {
  const D = model.sizes[0];
  let pixels = bytes;
  if (isIdxImages(bytes)) {
    try {
      const img = parseIdxImages(bytes, "body");
      if (img.rows * img.cols !== D) badRequest(`IDX images are ${img.rows}x${img.cols}; this model takes ${model.inputShape.join("x")}`);
      pixels = img.pixels;
    } catch (e) {
      if (!(e instanceof IdxError)) throw e;
      // Raw pixels can begin with the IDX magic too (a first image whose
      // first four pixels are 0, 0, 8, 3): whole images are taken as such.
      if (bytes.length % D !== 0) badRequest(e.message);
    }
  } else if (bytes.length % D !== 0) {
    badRequest(`body is ${bytes.length} bytes, not a multiple of ${D}; send N×${D} uint8 pixels or an IDX3 file (magic 2051)`);
  }
  const N = pixels.length / D;
  if (N === 0) badRequest("no images: the body is empty");
  checkBatch(N, limits, "");
  // Bytes are always in range: nothing to check, and (pixels / 255) · 255 /
  // input_scale is pixels / input_scale, applied by the forward pass.
  return { N, pixels: pixels.subarray(0, N * D), scale: model.inputScale };
}
