// PNG and JPEG bytes into a Raster, with pure-JS decoders that run in
// Workers and browsers alike (fast-png; ./jpeg.ts, with jpeg-js for the JPEGs
// it does not read). The size is read from the header and checked before any
// pixel is decoded, so a small file that claims a huge image costs nothing;
// truncation is found by walking the file's structure, since the decoders
// fill missing data silently. A JPEG's EXIF Orientation is read on the same
// walk and applied to the pixels, and a large JPEG is decoded at a reduced
// scale (1/2, 1/4 or 1/8), so a 12 MP phone photo costs little.
import { decode as decodePng } from "fast-png";
import { decode as decodeJpeg } from "jpeg-js";
import { decodeJpegScaled, UnsupportedJpeg } from "./jpeg";
import { ImageError, type Raster } from "./raster";

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

type Format = "PNG" | "JPEG";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format the bytes say they are, whatever the Content-Type claimed. */
export function sniff(bytes: Uint8Array): Format | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "PNG";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "JPEG";
  return null;
}

/** The format a Content-Type names, or null. image/jpg is a common misspelling and taken too. */
function formatOf(contentType: string): Format | null {
  const t = contentType.split(";")[0].trim().toLowerCase();
  if (t === "image/png") return "PNG";
  if (t === "image/jpeg" || t === "image/jpg" || t === "image/pjpeg") return "JPEG";
  return null;
}

function corrupt(format: Format, why: string): ImageError {
  return new ImageError(`the ${format} image is corrupt or truncated: ${why}. Send the whole file, as saved by an image editor or canvas.toBlob().`, "corrupt");
}

const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];

/**
 * A PNG's width and height from IHDR, after checking that every chunk lies
 * within the file and that it ends with IEND.
 */
function pngSize(b: Uint8Array): [number, number] {
  if (b.length < 33 || u32(b, 8) !== 13 || String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") throw corrupt("PNG", "no IHDR header after the signature");
  const size: [number, number] = [u32(b, 16), u32(b, 20)];
  let o = 8;
  for (;;) {
    if (o + 12 > b.length) throw corrupt("PNG", `the file ends at byte ${b.length} without an IEND chunk`);
    const len = u32(b, o);
    const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
    if (o + 12 + len > b.length) throw corrupt("PNG", `chunk ${type} at byte ${o} runs past the end of the file`);
    if (type === "IEND") return size;
    o += 12 + len;
  }
}

/**
 * EXIF Orientation (1-8) from an APP1 segment's TIFF data at [from, to); 1
 * when absent or unreadable (a damaged EXIF block is no reason to refuse a picture).
 */
function exifOrientation(b: Uint8Array, from: number, to: number): number {
  if (to - from < 14 || String.fromCharCode(...b.subarray(from, from + 4)) !== "Exif" || b[from + 4] !== 0 || b[from + 5] !== 0) return 1;
  const t = from + 6;
  const le = b[t] === 0x49 && b[t + 1] === 0x49;
  if (!le && !(b[t] === 0x4d && b[t + 1] === 0x4d)) return 1;
  const r16 = (o: number) => (le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
  const r32 = (o: number) => (le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : u32(b, o));
  const ifd = t + r32(t + 4);
  if (ifd + 2 > to) return 1;
  const n = r16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > to) return 1;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/**
 * A JPEG's width and height from its frame header (SOFn) and its EXIF
 * Orientation, after checking the file reaches its end marker.
 */
function jpegSize(b: Uint8Array): [number, number, number] {
  let o = 2;
  let size: [number, number] | null = null;
  let orientation = 1;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) throw corrupt("JPEG", `expected a marker at byte ${o}`);
    const m = b[o + 1];
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2; // markers without a length
      continue;
    }
    if (m === 0xd9) break;
    const len = u16(b, o + 2);
    if (len < 2 || o + 2 + len > b.length) throw corrupt("JPEG", `segment 0xFF${m.toString(16).toUpperCase()} at byte ${o} runs past the end of the file`);
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 7) throw corrupt("JPEG", "its frame header is too short");
      size = [u16(b, o + 7), u16(b, o + 5)];
    }
    if (m === 0xe1 && orientation === 1) orientation = exifOrientation(b, o + 4, o + 2 + len);
    if (m === 0xda) {
      if (!size) throw corrupt("JPEG", "image data before any frame header (SOFn)");
      // Entropy-coded data escapes 0xFF as FF 00, so FF D9 only ever ends the image.
      for (let i = o + 2 + len; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] === 0xd9) return [...size, orientation];
      throw corrupt("JPEG", "the image data has no end marker (FFD9)");
    }
    o += 2 + len;
  }
  throw corrupt("JPEG", "no image data (SOS) was found");
}

/** What an image file's header says, read without decoding a pixel. */
export interface ImageHeader {
  format: Format;
  /** The stored size, before the orientation is applied. */
  width: number;
  height: number;
  /**
   * EXIF Orientation, 1-8 (1 = as stored; 6 = turn 90° clockwise to view,
   * 8 = 90° anticlockwise, 3 = 180°; 2, 4, 5, 7 mirror too). Always 1 for PNG.
   */
  orientation: number;
}

/**
 * Reads an image's format and size from its header, checking that the file
 * is whole. Throws ImageError 415 for a type other than PNG or JPEG, 400 for
 * corrupt or truncated data.
 */
export function imageHeader(bytes: Uint8Array, contentType: string): ImageHeader {
  const declared = formatOf(contentType);
  if (!declared) throw new ImageError(`unsupported image type "${contentType}"; only PNG and JPEG are read`, "unsupported");
  // The bytes decide: a JPEG sent as image/png (a renamed file) decodes all the same.
  const format = sniff(bytes);
  if (!format) throw corrupt(declared, `it does not start with the ${declared} signature`);
  const [width, height, orientation] = format === "PNG" ? [...pngSize(bytes), 1] : jpegSize(bytes);
  if (width === 0 || height === 0) throw corrupt(format, `its header says ${width}×${height} pixels`);
  return { format, width, height, orientation };
}

/** The 413 for an image over the pixel limit. */
export function checkPixels({ width, height }: ImageHeader, maxPixels: number): void {
  if (width * height > maxPixels)
    throw new ImageError(
      `the image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels} (MAX_IMAGE_PIXELS). Scale it down first.`,
      "too-large",
    );
}

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
