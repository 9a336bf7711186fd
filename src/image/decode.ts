// PNG and JPEG bytes into a Raster, with pure-JS decoders that run in
// Workers and browsers alike (fast-png; ./jpeg.ts, with jpeg-js for the JPEGs
// it does not read). The size is read from the header (./header.ts) and
// checked before any pixel is decoded, so a small file that claims a huge image costs nothing;
// truncation is found by walking the file's structure, since the decoders
// fill missing data silently. A JPEG's EXIF Orientation is read on the same
// walk and applied to the pixels, and a large JPEG is decoded at a reduced
// scale (1/2, 1/4 or 1/8), so a 12 MP phone photo costs little.
// The routes load this module with a dynamic import when they first decode a
// picture: the decoders' modules (fflate builds its tables as it is
// imported) are no part of the Worker's start-up.
import { decode as decodePng } from "fast-png";
import { decode as decodeJpeg } from "jpeg-js";
import { decodeJpegScaled, UnsupportedJpeg } from "./jpeg";
import { checkPixels, corrupt, type ImageHeader } from "./header";
import { ImageError, type Raster } from "./raster";

// The header reader's exports, for callers that decode too.
export { checkPixels, type ImageHeader, imageHeader, sniff } from "./header";

/**
 * A JPEG is decoded at the smallest scale (1/8, 1/4, 1/2 or 1) whose long
 * side is at least this: enough for a row of digits, and a 4032 × 3024 photo
 * becomes 1008 × 756.
 */
export const DECODE_SIDE = 1000;

/**
 * JPEGs up to this many pixels with a long side under 2 × DECODE_SIDE, and
 * those the reduced-scale decoder does not read (progressive, CMYK, 12-bit,
 * arithmetic), are decoded whole by jpeg-js, which holds about 36 bytes per
 * pixel while it works (72 MB here): the latter are refused over it.
 */
const FULL_DECODE_PIXELS = 2_000_000;

/**
 * PNGs are decoded whole (fast-png, about 8 bytes per pixel while it
 * works): over this many pixels, the 2048 × 2048 of the earlier default
 * limit, they are refused even when MAX_IMAGE_PIXELS is higher.
 */
export const PNG_MAX_PIXELS = 2048 * 2048;

/**
 * A decoded picture, oriented as it is meant to be seen, and perhaps
 * smaller than its file: `scale` picture pixels per raster pixel (1, 2, 4 or
 * 8), so a box [x, y, w, h] on the raster is [x, y, w, h] × scale on the
 * picture as a viewer shows it.
 */
export interface Decoded extends Raster {
  scale: number;
}

/**
 * Decodes a PNG or JPEG whose header `imageHeader` has read, into 8-bit
 * pixels turned by its EXIF Orientation.
 * Grey, grey + alpha, RGB, RGBA, palette (with or without transparency) and
 * 16-bit PNGs come out as 1, 2, 3 or 4 channels of bytes; JPEGs as RGB (or
 * grey), at the smallest of 1/8, 1/4, 1/2 and full scale whose long side
 * is at least DECODE_SIDE.
 * Throws ImageError: too-large for more than `maxPixels` pixels (from the
 * header, before decoding), a PNG over PNG_MAX_PIXELS or a progressive JPEG
 * over FULL_DECODE_PIXELS;
 * corrupt for damaged or truncated data.
 *
 * @example
 * const bytes = new Uint8Array(await file.arrayBuffer());
 * const img = decodeImage(bytes, imageHeader(bytes, file.type), limits.maxImagePixels);
 */
export function decodeImage(bytes: Uint8Array, header: ImageHeader, maxPixels: number): Decoded {
  checkPixels(header, maxPixels);
  const { format, width, height } = header;
  if (format === "PNG" && width * height > PNG_MAX_PIXELS)
    throw new ImageError(
      `the PNG is ${width}×${height} = ${width * height} pixels; a PNG is decoded whole, and the limit for one is ${PNG_MAX_PIXELS}. Send it as a JPEG (decoded at a reduced scale) or scale it down first.`,
      "too-large",
    );
  try {
    const [img, scale] = format === "PNG" ? [png(bytes), 1] : jpeg(bytes, header);
    return { ...orientRaster(img, header.orientation), scale };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const cause = (e as Error)?.cause as Error | undefined;
    throw corrupt(format, `${(e as Error)?.message ?? e}${cause?.message ? ` ${cause.message}` : ""}`.trim());
  }
}

/**
 * The pixels per block side a JPEG of this size is decoded at: 8 (full
 * scale, by jpeg-js) up to FULL_DECODE_PIXELS with a long side under
 * 2 × DECODE_SIDE; otherwise the smallest of 1, 2 and 4 whose long side
 * reaches DECODE_SIDE.
 */
export function jpegScale(width: number, height: number): 1 | 2 | 4 | 8 {
  const long = Math.max(width, height);
  if (long < 2 * DECODE_SIDE && width * height <= FULL_DECODE_PIXELS) return 8;
  for (const k of [1, 2] as const) if ((long * k) / 8 >= DECODE_SIDE) return k;
  return 4;
}

function jpeg(bytes: Uint8Array, { width, height }: ImageHeader): [Raster, number] {
  const k = jpegScale(width, height);
  // At full scale jpeg-js is faster (its integer IDCT) and small enough.
  if (k < 8) {
    try {
      return [decodeJpegScaled(bytes, k), 8 / k];
    } catch (e) {
      if (!(e instanceof UnsupportedJpeg)) throw e;
      if (width * height > FULL_DECODE_PIXELS)
        throw new ImageError(
          `the JPEG is ${e.message}, which is decoded at full size, and it has ${width * height} pixels; the limit for those is ${FULL_DECODE_PIXELS}. Save it as a baseline JPEG or scale it down first.`,
          "too-large",
        );
    }
  }
  // RGB, not RGBA: a JPEG has no alpha.
  const img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: Math.ceil(FULL_DECODE_PIXELS / 1e6), maxMemoryUsageInMB: 96 });
  return [{ width: img.width, height: img.height, channels: 3, data: img.data }, 1];
}

/**
 * A raster turned as EXIF Orientation o says, so that it shows as meant:
 * out(x, y) = in(sx, sy), with width and height swapped for 5-8.
 */
export function orientRaster(img: Raster, o: number): Raster {
  if (o < 2 || o > 8) return img;
  const { width: W, height: H, channels: ch, data } = img;
  const swap = o >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const out = new Uint8Array(W * H * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number;
      let sy: number;
      if (o === 2) [sx, sy] = [W - 1 - x, y];
      else if (o === 3) [sx, sy] = [W - 1 - x, H - 1 - y];
      else if (o === 4) [sx, sy] = [x, H - 1 - y];
      else if (o === 5) [sx, sy] = [y, x];
      else if (o === 6) [sx, sy] = [y, H - 1 - x];
      else if (o === 7) [sx, sy] = [W - 1 - y, H - 1 - x];
      else [sx, sy] = [W - 1 - y, x];
      const s = (sy * W + sx) * ch;
      const d = (y * w + x) * ch;
      for (let c = 0; c < ch; c++) out[d + c] = data[s + c];
    }
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** The orientation that undoes o: 6 and 8 undo each other, every other one undoes itself. */
export function inverseOrientation(o: number): number {
  return o === 6 ? 8 : o === 8 ? 6 : o;
}

function png(bytes: Uint8Array): Raster {
  const p = decodePng(bytes);
  const { width, height, depth } = p;
  const n = width * height;
  // Samples of one row, unpacked from 1, 2 or 4 bits, or 16 down to 8.
  const ch = p.channels;
  const stride = Math.ceil((width * ch * depth) / 8);
  const sample = (y: number, i: number): number => {
    if (depth >= 8) return p.data[y * width * ch + i];
    const byte = p.data[y * stride + ((i * depth) >> 3)];
    return (byte >> (8 - depth - ((i * depth) & 7))) & ((1 << depth) - 1);
  };
  if (p.data.length < (depth === 16 || depth === 8 ? n * ch : stride * height)) throw new Error(`${p.data.length} samples for ${width}×${height}×${ch}`);
  if (p.palette) {
    // Indices into RGB or RGBA colours (RGBA when a tRNS chunk gave alphas).
    const pal = p.palette;
    const out = pal.some((c) => c.length === 4) ? 4 : 3;
    const data = new Uint8Array(n * out);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const c = pal[sample(y, x)];
        if (!c) throw new Error(`palette index ${sample(y, x)} is past the ${pal.length} colours`);
        const o = (y * width + x) * out;
        data[o] = c[0];
        data[o + 1] = c[1];
        data[o + 2] = c[2];
        if (out === 4) data[o + 3] = c[3] ?? 255;
      }
    }
    return { width, height, channels: out, data };
  }
  // 16-bit to 8 by rounding (v / 257); 1, 2 and 4 bits scaled up to 0..255.
  const max = (1 << depth) - 1;
  const to8 = depth === 8 ? (v: number) => v : depth === 16 ? (v: number) => Math.round(v / 257) : (v: number) => Math.round((v * 255) / max);
  // A tRNS chunk on grey or RGB names one colour that is transparent: it becomes an alpha channel.
  const key = p.transparency && p.transparency.length >= (ch === 1 ? 1 : 3) ? p.transparency : null;
  // 8-bit samples without a colour key are already a Raster's layout: no copy.
  if (depth === 8 && !key) return { width, height, channels: ch as 1 | 2 | 3 | 4, data: p.data as Uint8Array };
  const out = (ch + (key ? 1 : 0)) as 1 | 2 | 3 | 4;
  const data = new Uint8Array(n * out);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * out;
      let clear = key !== null;
      for (let c = 0; c < ch; c++) {
        const v = sample(y, x * ch + c);
        if (key && v !== key[c]) clear = false;
        data[o + c] = to8(v);
      }
      if (key) data[o + ch] = clear ? 0 : 255;
    }
  }
  return { width, height, channels: out, data };
}
