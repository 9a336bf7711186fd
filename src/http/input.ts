// Turns request bodies into the network's input matrix x (N, D), checking
// every element and pointing at the first bad one.
import type { Context } from "hono";
import { endTime, startTime } from "hono/timing";
import { IDX_IMAGES_MAGIC, IdxError, parseIdxImages } from "../data/idx";
import type { ModelFile } from "../model/format";
import { type AppEnv, limits } from "./env";
import { badRequest, ProblemError } from "./problem";

/** A JSON image: D numbers, or rows × cols nested arrays (28 rows of 28). */
export type JsonImage = (number | number[])[];

export interface Batch {
  x: Float32Array;
  N: number;
}

function tooMany(N: number, max: number): never {
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
  // x = (v / scale) pixel fraction, times 255 / input_scale for the model.
  const k = 255 / model.inputScale / scale;
  const x = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const img = images[n];
    const at = single ? base : `${base}/${n}`;
    const o = n * D;
    if (!Array.isArray(img)) badRequest(`image must be an array of ${D} numbers or ${rows} rows of ${cols}`, at);
    if (img.length === D && typeof img[0] === "number") {
      for (let i = 0; i < D; i++) {
        const v = img[i];
        if (typeof v !== "number" || !(v >= 0 && v <= scale))
          badRequest(`${describe(v)} is not a pixel value in [0, ${scale}]${scale === 1 ? ' (send "scale": 255 for raw bytes)' : ""}`, `${at}/${i}`);
        x[o + i] = v * k;
      }
    } else if (img.length === rows && Array.isArray(img[0])) {
      for (let r = 0; r < rows; r++) {
        const row = img[r];
        if (!Array.isArray(row) || row.length !== cols) badRequest(`row must be an array of ${cols} numbers`, `${at}/${r}`);
        for (let j = 0; j < cols; j++) {
          const v = row[j];
          if (typeof v !== "number" || !(v >= 0 && v <= scale))
            badRequest(`${describe(v)} is not a pixel value in [0, ${scale}]${scale === 1 ? ' (send "scale": 255 for raw bytes)' : ""}`, `${at}/${r}/${j}`);
          x[o + r * cols + j] = v * k;
        }
      }
    } else {
      badRequest(`image has ${img.length} elements; expected ${D} numbers or ${rows} rows of ${cols}`, at);
    }
  }
  return { x, N };
}

function describe(v: unknown): string {
  return typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v));
}

/** Reads the body as bytes, gunzipping when asked, never past the byte limit. */
export async function readBinaryBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const { maxBodyBytes } = limits(c.env);
  const declared = c.req.header("content-encoding")?.trim().toLowerCase();
  const encoding = declared || "identity";
  if (encoding !== "identity" && encoding !== "gzip")
    throw new ProblemError(415, { detail: `Content-Encoding "${encoding}" is not supported; send identity or gzip` });
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
  if (encoding === "gzip" && !gzipped) badRequest("Content-Encoding is gzip but the body is not gzip data");
  // Without a Content-Encoding header, gzip magic suggests a compressed
  // upload; but raw pixels may start with the same two bytes, so fall back to
  // them when inflating fails. An explicit "identity" is never inflated.
  if (encoding === "gzip") return inflate(raw, maxBodyBytes, true);
  if (declared === undefined && gzipped) return (await inflate(raw, maxBodyBytes, false)) ?? raw;
  return raw;
}

async function inflate(raw: Uint8Array, maxBodyBytes: number, required: true): Promise<Uint8Array>;
async function inflate(raw: Uint8Array, maxBodyBytes: number, required: false): Promise<Uint8Array | null>;
async function inflate(raw: Uint8Array, maxBodyBytes: number, required: boolean): Promise<Uint8Array | null> {
  // Stream the inflation so a small bomb cannot expand past the limit.
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBodyBytes) {
        await reader.cancel();
        throw new ProblemError(413, {
          detail: `gzip body inflates past ${maxBodyBytes} bytes (MAX_BODY_BYTES); send fewer images per request`,
          limit: maxBodyBytes,
        });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    if (!required) return null;
    badRequest(`the gzip body is corrupt (${(e as Error).message}); compress it again`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}

/**
 * A binary body: N×D raw pixel bytes (0 = background, 255 = ink), or a whole
 * IDX3 image file with its 16-byte header (magic 2051).
 */
export async function binaryImages(c: Context<AppEnv>, model: ModelFile): Promise<Batch> {
  startTime(c, "parse");
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
      if (e instanceof IdxError) badRequest(e.message);
      throw e;
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
  endTime(c, "parse");
  return { x, N };
}
