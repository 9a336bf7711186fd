// Every request body becomes the network's input matrix x (N, D) here:
// native JSON images, raw and IDX binary bodies, and Open Inference Protocol
// tensors. One scaling rule, one batch check and one error for a bad element,
// which names it with a JSON pointer.
// N = batch, D = the model's inputs (784 for 28×28).
import { IdxError, isIdxImages, parseIdxImages } from "../data/idx";
import { checkPixels, decodeImage, imageHeader, sniff } from "../image/decode";
import { asMnist, recipeFor, toMnist } from "../image/preprocess";
import { ImageError, type ImageErrorKind } from "../image/raster";
import type { ModelHeader } from "../model/format";
import type { Limits } from "./env";
import { GzipError, inflate, isGzip } from "./encoding";
import { badRequest, excerpt, ProblemError } from "./problem";

/** A JSON image: D numbers, or rows × cols nested arrays (28 rows of 28). */
export type JsonImage = (number | number[])[];

/**
 * N images for the network: as floats x (N, D), or as raw bytes (N, D) that
 * become x = pixels / scale chunk by chunk inside the forward pass, so a large
 * binary batch never has a whole Float32 copy.
 */
export type Batch = { N: number; x: Float32Array } | { N: number; pixels: Uint8Array; scale: number };

/** What a body's Content-Type makes of it; decided once, here. */
export type BodyKind = "json" | "binary" | "image" | "multipart";

const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

/**
 * JSON for application/json and its +json relatives; one picture for image/*
 * (PNG and JPEG decode, other types are a 415); a batch of pictures for
 * multipart/form-data; everything else is binary pixels.
 */
export function bodyKind(contentType: string | undefined): BodyKind {
  const ct = contentType ?? "";
  if (JSON_TYPE.test(ct)) return "json";
  const essence = ct.split(";")[0].trim().toLowerCase();
  if (essence.startsWith("image/")) return "image";
  if (essence === "multipart/form-data") return "multipart";
  return "binary";
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
  /** The lowest value the datatype holds, when a value below 0 is a datatype error rather than a pixel error. */
  typeMin?: number;
  /** The highest value the datatype holds, below `max` for INT8. */
  typeMax?: number;
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
  const top = Math.min(max, rule.typeMax ?? max);
  for (let i = 0; i < count; i++) {
    const v = src[from + i];
    if (typeof v !== "number" || !(v >= 0 && v <= top) || (integer && !Number.isInteger(v))) badPixel(v, rule, at(i));
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

const float = (t: string): PixelRule => ({ max: 1, integer: false, what: `an ${t} pixel value in [0, 1]` });
/** Integer types carry 0-255 pixels; a value must also fit the type (INT8 stops at 127). */
const int = (t: string, typeMax: number): PixelRule => ({
  max: 255,
  integer: true,
  typeMax,
  what: `a whole number in [0, ${Math.min(255, typeMax)}] (a ${t} pixel${typeMax < 255 ? `; ${t} holds at most ${typeMax}` : ""})`,
});

/** The protocol's numeric datatypes and what each accepts; BOOL and BYTES are not pixels. */
const TENSOR_RULES: Record<string, PixelRule> = {
  FP16: float("FP16"),
  FP32: float("FP32"),
  FP64: float("FP64"),
  UINT8: int("UINT8", 255),
  UINT16: int("UINT16", 65535),
  UINT32: int("UINT32", 4294967295),
  UINT64: int("UINT64", Number.MAX_SAFE_INTEGER),
  INT8: int("INT8", 127),
  INT16: int("INT16", 32767),
  INT32: int("INT32", 2147483647),
  INT64: int("INT64", Number.MAX_SAFE_INTEGER),
};

/**
 * An OIP tensor of shape [N, D], [N, rows, cols] or [N, 1, rows, cols]:
 * `data` flat or nested to the shape. `at` is the tensor's JSON pointer.
 */
export function tensorImages(tensor: Tensor, model: ModelHeader, limits: Limits, at: string): Batch {
  const { shape, datatype } = tensor;
  const D = model.sizes[0];
  const rule = TENSOR_RULES[datatype];
  if (!rule)
    badRequest(
      `datatype "${excerpt(datatype)}" is not supported; use FP16, FP32 or FP64 (values in [0, 1]), or UINT8 or another integer type (0-255)`,
      `${at}/datatype`,
    );
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
  if (!Array.isArray(data[0])) badRequest(`${data.length} values but shape [${shape}] needs ${total}, flat or nested exactly to the shape`, `${at}/data`);
  // Nested data must match the shape at every depth: ragged rows are refused,
  // never re-split. The depth is bounded by the shape, so is the recursion.
  let n = 0;
  const walk = (v: unknown[], ptr: string, depth: number): void => {
    if (v.length !== shape[depth])
      badRequest(`${v.length} elements where shape [${shape}] has ${shape[depth]} (dimension ${depth}); nest data exactly to the shape, or send it flat`, ptr);
    const leaf = depth === shape.length - 1;
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (leaf) copyPixels(v, i, 1, x, n++, rule, k, () => `${ptr}/${i}`);
      else if (Array.isArray(e)) walk(e, `${ptr}/${i}`, depth + 1);
      else badRequest(`${describeValue(e)} where shape [${shape}] needs an array of ${shape[depth + 1]}`, `${ptr}/${i}`);
    }
  };
  walk(data, `${at}/data`, 0);
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
 * upload; raw pixels may start with the same two bytes, so whole images (a
 * multiple of D bytes) are taken as they are when inflating fails. Anything
 * else that fails to inflate is a corrupt gzip body, and the answer says so.
 */
export async function binaryBody(raw: Uint8Array, inflated: boolean, limits: Limits, D: number): Promise<Uint8Array> {
  if (inflated || !isGzip(raw)) return raw;
  try {
    return await inflate(raw, limits.maxBodyBytes, false);
  } catch (e) {
    if (!(e instanceof GzipError)) throw e;
    if (raw.length % D === 0) return raw;
    badRequest(`the body starts like gzip (1f 8b) but does not inflate (${e.message}), and is not whole images of ${D} bytes either; compress it again`);
  }
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

/** The HTTP status of each kind of picture error. */
const IMAGE_ERROR_STATUS: Record<ImageErrorKind, 400 | 413 | 415 | 422> = {
  unsupported: 415,
  corrupt: 400,
  "too-large": 413,
  blank: 422,
  "wrong-size": 422,
};

/** One picture sent: its bytes, its Content-Type and, from a multipart body, its part's name. */
export interface ImageFile {
  bytes: Uint8Array;
  type: string;
  name?: string;
}

/** How a picture becomes the network's input: MNIST's recipe, or taken as it is (exactly 28×28). */
export type Preprocess = "mnist" | "none";

/** Pictures as the network saw them: N×D bytes, ink high (what ?debug=1 shows), and each one's polarity. */
export interface ImageBatch {
  N: number;
  pixels: Uint8Array;
  scale: number;
  inverted: boolean[];
}

/**
 * The pictures of one request together may hold this many times
 * MAX_IMAGE_PIXELS: decoding, not the network, is what costs, and a small
 * PNG can claim millions of blank pixels.
 */
export const IMAGE_PIXELS_PER_REQUEST = 8;

/**
 * The files of a multipart/form-data body, in order, whatever their field
 * names. A part sent as application/octet-stream (or with no type) is taken
 * by its bytes when they are a PNG or JPEG.
 */
export async function multipartFiles(form: FormData): Promise<ImageFile[]> {
  const files: ImageFile[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") badRequest(`multipart field "${name}" is text, not a file; send each image as a file part (image/png or image/jpeg)`);
    const bytes = new Uint8Array(await value.arrayBuffer());
    let type = value.type.split(";")[0].trim().toLowerCase();
    if (type === "" || type === "application/octet-stream") {
      const format = sniff(bytes);
      type = format === "PNG" ? "image/png" : format === "JPEG" ? "image/jpeg" : type || "no type";
    }
    files.push({ bytes, type, name: value.name || name });
  }
  return files;
}

/**
 * PNG and JPEG pictures into x: each decoded, made MNIST-style (or, with
 * preprocess "none", taken as it is) and scaled by the one rule. Every header
 * is read first, so an oversized picture, or too many pixels in all, is
 * refused before anything is decoded. A bad picture's error names its part.
 */
export function imageImages(files: ImageFile[], model: ModelHeader, limits: Limits, preprocess: Preprocess): ImageBatch {
  const D = model.sizes[0];
  const [side, cols] = model.inputShape;
  if (model.inputShape.length !== 2 || side !== cols || side * cols !== D)
    throw new ProblemError(422, { detail: `this model takes ${D} inputs, not a square picture; send JSON or binary pixels` });
  checkBatch(files.length, limits, "");
  const many = files.length > 1;
  const fail = (e: unknown, n: number): never => {
    if (!(e instanceof ImageError)) throw e;
    const f = files[n];
    const where = many ? `image ${n + 1} of ${files.length}${f.name ? ` ("${f.name}")` : ""}: ` : "";
    const hint =
      e.kind === "wrong-size" ? " (preprocess=none); leave preprocess out to have it fitted" : e.kind === "unsupported" ? "; send image/png or image/jpeg" : "";
    throw new ProblemError(IMAGE_ERROR_STATUS[e.kind], { detail: `${where}${e.message}${hint}`, ...(many ? { part: n } : {}) });
  };
  let total = 0;
  const headers = files.map((f, n) => {
    try {
      const h = imageHeader(f.bytes, f.type);
      checkPixels(h, limits.maxImagePixels);
      total += h.width * h.height;
      return h;
    } catch (e) {
      return fail(e, n);
    }
  });
  const budget = IMAGE_PIXELS_PER_REQUEST * limits.maxImagePixels;
  if (total > budget)
    throw new ProblemError(413, {
      detail: `the images hold ${total} pixels in all; one request may hold ${budget} (${IMAGE_PIXELS_PER_REQUEST} × MAX_IMAGE_PIXELS). Send fewer or smaller images per request.`,
      limit: budget,
    });
  const recipe = recipeFor(model.metadata.dataset, side);
  const N = files.length;
  const pixels = new Uint8Array(N * D);
  const inverted: boolean[] = [];
  files.forEach((f, n) => {
    try {
      const img = decodeImage(f.bytes, headers[n], limits.maxImagePixels);
      const m = preprocess === "none" ? asMnist(img, side) : toMnist(img, recipe);
      pixels.set(m.pixels, n * D);
      inverted.push(m.inverted);
    } catch (e) {
      fail(e, n);
    }
  });
  // Bytes, like a binary body: the forward pass scales them.
  return { N, pixels, scale: model.inputScale, inverted };
}
