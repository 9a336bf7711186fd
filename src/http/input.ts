// Every request body becomes the network's input matrix x (N, D) here: one
// reader per body kind (native JSON, raw and IDX binary, PNG and JPEG
// pictures) gives a Read that src/http/native.ts answers in one way, and
// Open Inference Protocol tensors become a Batch (tensorImages). Bodies
// arrive as bytes already read (src/http/body.ts). One batch check, and one
// error for a bad element, which names it with a JSON pointer.
// N = batch, D = the model's inputs (784 for 28×28).
import type { z } from "@hono/zod-openapi";
import { IMAGE_PIXELS_PER_REQUEST, type Limits } from "../config";
import { IdxError, isIdxImages, parseIdxImages } from "../data/idx";
import { checkPixels, type ImageHeader, imageHeader, sniff } from "../image/header";
import { ImageError, type ImageErrorKind } from "../image/raster";
import type { ModelSpec } from "../model/format";
import type { OutputKind } from "./inference";
import type { Body } from "./body";
import { badRequest, excerpt, ProblemError } from "./problem";
import type { PredictBody } from "./schemas";

/** A JSON image: D numbers, or rows × cols nested arrays (28 rows of 28). */
type JsonImage = (number | number[])[];

/**
 * N images for the network: as floats x (N, D), or as raw bytes (N, D) that
 * become x = pixels / scale chunk by chunk inside the forward pass, so a large
 * binary batch never has a whole Float32 copy.
 */
export type Batch = { N: number; x: Float32Array } | { N: number; pixels: Uint8Array; scale: number };

/** Checks the batch size: none is a 400, more than MAX_BATCH a 413. */
function checkBatch(N: number, limits: Limits, pointer: string): void {
  if (N > limits.maxBatch)
    throw new ProblemError(413, {
      detail: `${N} images in one request; the limit is ${limits.maxBatch} (MAX_BATCH). Split the batch.`,
      limit: limits.maxBatch,
    });
  if (N === 0) badRequest("no images: send at least one", pointer);
}

/** Full ink as the model takes it: 255 / input_scale (copyPixels scales each value by it). */
export function inkScale(model: ModelSpec): number {
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
 * The pixel loop of JSON and tensor bodies: copies `count` values of `src`
 * from `from` into x at `to`, checking each and scaling it to v / max of full
 * ink. Dividing each value (rather than multiplying by 1 / max) keeps any
 * positive max finite, however small. Byte bodies are scaled by the forward
 * pass instead (forwardPixels), to the same floats; where the first layer is
 * I8 it takes the bytes themselves, in whole numbers, so its answer differs
 * from the same pixels sent as numbers by float rounding only (about 1e-6).
 * `at(i)` is the JSON pointer of value i.
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
 * The picture a model reads, rows × columns: its input shape without the
 * channel of a one-channel convolutional model ([1, 28, 28] is a 28 × 28 picture).
 */
export function imageShape(model: ModelSpec): number[] {
  const s = model.inputShape;
  return s.length === 3 && s[0] === 1 ? s.slice(1) : s;
}

/**
 * Copies JSON images into x. `scale` is the top of the value range: 1 when
 * values are in [0, 1], 255 for raw bytes. `base` is the JSON pointer of the
 * array of images, or of the single image.
 */
function jsonImages(images: JsonImage[], scale: number, model: ModelSpec, limits: Limits, base: string, single: boolean): Batch {
  const D = model.sizes[0];
  const picture = imageShape(model);
  const [rows, cols] = picture.length === 2 ? picture : [1, D];
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
interface Tensor {
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
export const TENSOR_RULES: Record<string, PixelRule> = {
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

/** The rule of a tensor's datatype; a 400 at `${at}/datatype` for one that is not pixels. */
export function tensorRule(datatype: string, at: string): PixelRule {
  const rule = TENSOR_RULES[datatype];
  if (!rule)
    badRequest(
      `datatype "${excerpt(datatype)}" is not supported; use FP16, FP32 or FP64 (values in [0, 1]), or UINT8 or another integer type (0-255)`,
      `${at}/datatype`,
    );
  return rule;
}

/**
 * N, the number of images in a tensor of shape [N, D], [N, rows, cols] or
 * [N, 1, rows, cols]; a 400 at `${at}/shape` for any other shape.
 */
export function tensorBatchSize(shape: number[], model: ModelSpec, limits: Limits, at: string): number {
  const D = model.sizes[0];
  const image = shape.slice(1).filter((d, i) => !(d === 1 && i === 0 && shape.length === 4));
  const N = shape[0];
  const fits =
    shape.length >= 2 &&
    N >= 1 &&
    (image.join() === String(D) || image.join() === imageShape(model).join() || shape.slice(1).join() === model.inputShape.join());
  if (!fits) badRequest(`shape [${shape}] is not a batch of images; use [N, ${D}] or [N, ${model.inputShape.join(", ")}] with N ≥ 1`, `${at}/shape`);
  checkBatch(N, limits, `${at}/shape`);
  return N;
}

/**
 * An OIP tensor of shape [N, D], [N, rows, cols] or [N, 1, rows, cols]:
 * `data` flat or nested to the shape. `at` is the tensor's JSON pointer.
 */
export function tensorImages(tensor: Tensor, model: ModelSpec, limits: Limits, at: string): Batch {
  const { shape, datatype } = tensor;
  const D = model.sizes[0];
  const rule = tensorRule(datatype, at);
  const N = tensorBatchSize(shape, model, limits, at);
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
 * A binary body: N×D raw pixel bytes (0 = background, 255 = ink), or a whole
 * IDX3 image file with its 16-byte header (magic 2051). Raw pixels may start
 * like gzip (1f 8b) or like an IDX header: whole images (a multiple of D
 * bytes) are then taken as pixels when they do not inflate or parse.
 */
function binaryImages(body: Body, model: ModelSpec, limits: Limits): Batch {
  const D = model.sizes[0];
  const { bytes, notGzip } = body;
  if (notGzip !== undefined && bytes.length % D !== 0)
    badRequest(`the body starts like gzip (1f 8b) but does not inflate (${notGzip}), and is not whole images of ${D} bytes either; compress it again`);
  let pixels = bytes;
  if (isIdxImages(bytes)) {
    try {
      const img = parseIdxImages(bytes, "body");
      if (img.rows * img.cols !== D) badRequest(`IDX images are ${img.rows}x${img.cols}; this model takes ${model.inputShape.join("x")}`);
      pixels = img.pixels;
    } catch (e) {
      if (!(e instanceof IdxError)) throw e;
      // A first image whose first four pixels are 0, 0, 8, 3 looks like IDX.
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
interface ImageBatch {
  N: number;
  pixels: Uint8Array;
  scale: number;
  inverted: boolean[];
}

/**
 * The files of a multipart/form-data body, in order, whatever their field
 * names. A part sent as application/octet-stream (or with no type) is taken
 * by its bytes when they are a PNG or JPEG.
 */
async function multipartFiles(form: FormData): Promise<ImageFile[]> {
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
 * Throws a picture's error as its problem: the status of its kind, and for
 * one of several pictures, which one (`part`). Any other error is rethrown.
 */
export function pictureError(e: unknown, files: ImageFile[], n: number): never {
  if (!(e instanceof ImageError)) throw e;
  const many = files.length > 1;
  const f = files[n];
  const where = many ? `image ${n + 1} of ${files.length}${f.name ? ` ("${f.name}")` : ""}: ` : "";
  const hint =
    e.kind === "wrong-size" ? " (preprocess=none); leave preprocess out to have it fitted" : e.kind === "unsupported" ? "; send image/png or image/jpeg" : "";
  // `kind` says which picture error it is, for clients (the page) that act on it rather than on the text.
  throw new ProblemError(IMAGE_ERROR_STATUS[e.kind], { detail: `${where}${e.message}${hint}`, kind: e.kind, ...(many ? { part: n } : {}) });
}

/**
 * Every picture's header, read before anything is decoded: the batch's
 * size, each picture's pixels and all of them together are checked, so an
 * oversized picture, or too many pixels in all, costs nothing.
 */
export function pictureHeaders(files: ImageFile[], limits: Limits): ImageHeader[] {
  checkBatch(files.length, limits, "");
  const headers = files.map((f, n): ImageHeader => {
    try {
      const h = imageHeader(f.bytes, f.type);
      checkPixels(h, limits.maxImagePixels);
      return h;
    } catch (e) {
      return pictureError(e, files, n);
    }
  });
  const total = headers.reduce((sum, h) => sum + h.width * h.height, 0);
  const budget = limits.maxRequestPixels;
  if (total > budget)
    throw new ProblemError(413, {
      detail: `the images hold ${total} pixels in all; one request may hold ${budget} (${IMAGE_PIXELS_PER_REQUEST} × MAX_IMAGE_PIXELS). Send fewer or smaller images per request.`,
      limit: budget,
    });
  return headers;
}

/**
 * PNG and JPEG pictures into N×D bytes: each decoded and made MNIST-style
 * (or, with preprocess "none", taken as it is); the forward pass scales the
 * bytes as it does a binary body's. Every header is read first
 * (pictureHeaders). A bad picture's error names its part.
 */
async function imageImages(files: ImageFile[], model: ModelSpec, limits: Limits, preprocess: Preprocess): Promise<ImageBatch> {
  const D = model.sizes[0];
  const picture = imageShape(model);
  const [side, cols] = picture;
  if (picture.length !== 2 || side !== cols || side * cols !== D)
    throw new ProblemError(422, { detail: `this model takes ${D} inputs, not a square picture; send JSON or binary pixels` });
  const headers = pictureHeaders(files, limits);
  // The decoders and MNIST's recipe are loaded on the first picture's decode
  // (src/image/decode.ts): start-up compiles none of them.
  const [{ decodeImage }, { asMnist, recipeFor, toMnist }] = await Promise.all([import("../image/decode"), import("../image/preprocess")]);
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
      pictureError(e, files, n);
    }
  });
  // Bytes, like a binary body: the forward pass scales them.
  return { N, pixels, scale: model.inputScale, inverted };
}

type PredictJson = z.infer<ReturnType<typeof PredictBody>>;

/** Options a body itself sets; they win over the query string's. */
interface AnswerOptions {
  output?: OutputKind;
  top_k?: number;
}

/** What a native predict body becomes: the batch, and how its answer is shaped (src/http/native.ts). */
export interface Read {
  batch: Batch;
  /** One image was sent ("input", or one picture): the answer is one prediction, not a list. */
  single: boolean;
  /** Raw pixels, whose batch answer with output=label is the labels alone. */
  labelsOnly: boolean;
  options: AnswerOptions;
  /** What the answer adds to image n's prediction (?debug=1 for pictures). */
  extra?: (n: number) => Record<string, unknown>;
}

/** A native JSON body, its schema checked: exactly one of input and inputs. */
export function readJson(json: PredictJson, model: ModelSpec, limits: Limits): Read {
  if ((json.input === undefined) === (json.inputs === undefined)) badRequest('send exactly one of "input" (one image) or "inputs" (a batch)', "");
  const single = json.input !== undefined;
  const images = single ? [json.input as JsonImage] : (json.inputs as JsonImage[]);
  const batch = jsonImages(images, json.scale ?? 1, model, limits, single ? "/input" : "/inputs", single);
  return { batch, single, labelsOnly: false, options: { output: json.output, top_k: json.top_k } };
}

/** A binary body: raw pixels or an IDX3 file. */
export function readBinary(body: Body, model: ModelSpec, limits: Limits): Read {
  return { batch: binaryImages(body, model, limits), single: false, labelsOnly: true, options: {} };
}

/**
 * Pictures: one PNG or JPEG body (one prediction), or a multipart body (one
 * per file, in order). `debug` adds what the network saw, as 28 rows of 28
 * bytes, and whether the picture was inverted.
 */
export async function readPictures(
  body: Body,
  contentType: string,
  model: ModelSpec,
  limits: Limits,
  { preprocess, debug }: { preprocess: Preprocess; debug: boolean },
): Promise<Read> {
  const single = body.type !== "multipart/form-data";
  const files = await pictureFiles(body, contentType);
  const batch = await imageImages(files, model, limits, preprocess);
  const side = imageShape(model)[0];
  const D = side * side;
  const seen = (n: number) => ({
    input: Array.from({ length: side }, (_, r) => Array.from(batch.pixels.subarray(n * D + r * side, n * D + r * side + side))),
    inverted: batch.inverted[n],
  });
  return { batch, single, labelsOnly: false, options: {}, extra: debug ? seen : undefined };
}

/** The pictures of a body: the body itself (a PNG or JPEG), or a multipart body's files, in order. */
export async function pictureFiles(body: Body, contentType: string): Promise<ImageFile[]> {
  return body.type === "multipart/form-data" ? multipartFiles(await formData(body.bytes, contentType)) : [{ bytes: body.bytes, type: contentType }];
}

/** A multipart body's form, parsed from the bytes read; a malformed one is a 400. */
async function formData(bytes: Uint8Array, contentType: string): Promise<FormData> {
  try {
    return await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "Content-Type": contentType } }).formData();
  } catch (e) {
    badRequest(`the multipart body is malformed (${(e as Error)?.message ?? e}); send multipart/form-data, with its boundary, holding one file part per image`);
  }
}
