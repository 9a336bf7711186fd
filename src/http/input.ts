// Turns request bodies into the network's input matrix x (N, D), checking
// every element and pointing at the first bad one.
import type { Context } from "hono";
import { IDX_IMAGES_MAGIC, IdxError, parseIdxImages } from "../data/idx";
import type { ModelFile } from "../model/format";
import { type AppEnv, limits } from "./env";
import { inflate } from "./encoding";
import { badRequest, ProblemError } from "./problem";

/** A JSON image: D numbers, or rows × cols nested arrays (28 rows of 28). */
export type JsonImage = (number | number[])[];

export interface Batch {
  x: Float32Array;
  N: number;
}

/** The 413 for a batch over MAX_BATCH. */
export function tooMany(N: number, max: number): never {
  throw new ProblemError(413, { detail: `${N} images in one request; the limit is ${max} (MAX_BATCH). Split the batch.`, limit: max });
}

/**
 * Copies JSON images into x, scaling by `scale` (1 when values are in [0, 1],
 * 255 for raw bytes) and then into the model's own input scale.
 * `base` is the JSON pointer of the array of images, or of the single image.
 */
export function jsonImages(c: Context<AppEnv>, images: JsonImage[], scale: number, model: ModelFile, base: string, single: boolean): Batch {
  const D = model.network.layers[0].inSize;
  const [rows, cols] = model.inputShape.length === 2 ? model.inputShape : [1, D];
  const N = images.length;
  const { maxBatch } = limits(c.env);
  if (N > maxBatch) tooMany(N, maxBatch);
  if (N === 0) badRequest("no images: send at least one", base);
  // x = (v / scale), a fraction of full ink, times 255 / input_scale for the
  // model. Dividing each value (rather than multiplying by 1 / scale) keeps
  // any positive scale finite, however small.
  const k = 255 / model.inputScale;
  const x = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const img = images[n];
    const at = single ? base : `${base}/${n}`;
    const o = n * D;
    if (!Array.isArray(img)) badRequest(`image must be an array of ${D} numbers or ${rows} rows of ${cols}`, at);
    if (img.length === D && typeof img[0] === "number") {
      for (let i = 0; i < D; i++) {
        const v = img[i];
        if (typeof v !== "number" || !(v >= 0 && v <= scale)) badPixel(v, scale, `${at}/${i}`);
        x[o + i] = (v / scale) * k;
      }
    } else if (img.length === rows && Array.isArray(img[0])) {
      for (let r = 0; r < rows; r++) {
        const row = img[r];
        if (!Array.isArray(row) || row.length !== cols) badRequest(`row must be an array of ${cols} numbers`, `${at}/${r}`);
        for (let j = 0; j < cols; j++) {
          const v = row[j];
          if (typeof v !== "number" || !(v >= 0 && v <= scale)) badPixel(v, scale, `${at}/${r}/${j}`);
          x[o + r * cols + j] = (v / scale) * k;
        }
      }
    } else {
      badRequest(`image has ${img.length} elements; expected ${D} numbers or ${rows} rows of ${cols}`, at);
    }
  }
  return { x, N };
}

function badPixel(v: unknown, scale: number, pointer: string): never {
  badRequest(`${describe(v)} is not a pixel value in [0, ${scale}]${scale === 1 ? ' (send "scale": 255 for raw bytes)' : ""}`, pointer);
}

/** Names a bad value without echoing it whole: a client's array or string may be huge. */
export function describe(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 20 ? `a string ("${v.slice(0, 20)}…")` : `"${v}"`;
  return v === null ? "null" : typeof v === "object" ? "an object" : String(v);
}

/**
 * Reads the body as bytes. A declared Content-Encoding was decoded already
 * (src/http/encoding.ts). Without one, gzip magic suggests a compressed
 * upload; raw pixels may start with the same two bytes, so they are taken as
 * they are when inflating fails.
 */
export async function readBinaryBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  if (c.var.contentEncoding === undefined && raw[0] === 0x1f && raw[1] === 0x8b) return (await inflate(raw, limits(c.env).maxBodyBytes, false)) ?? raw;
  return raw;
}

/**
 * A binary body: N×D raw pixel bytes (0 = background, 255 = ink), or a whole
 * IDX3 image file with its 16-byte header (magic 2051).
 */
export async function binaryImages(c: Context<AppEnv>, model: ModelFile): Promise<Batch> {
  const bytes = await readBinaryBody(c);
  const D = model.network.layers[0].inSize;
  let pixels = bytes;
  const isIdx = bytes.length >= 16 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) === IDX_IMAGES_MAGIC;
  if (isIdx) {
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
  const { maxBatch } = limits(c.env);
  if (N > maxBatch) tooMany(N, maxBatch);
  const x = new Float32Array(N * D);
  const inv = 1 / model.inputScale;
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] * inv;
  return { x, N };
}
