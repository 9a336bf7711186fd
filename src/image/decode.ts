// PNG and JPEG bytes into a Raster, with pure-JS decoders that run in
// Workers and browsers alike (fast-png, jpeg-js). The size is read from the
// header and checked before any pixel is decoded, so a small file that claims
// a huge image costs nothing; truncation is found by walking the file's
// structure, since the decoders fill missing data silently.
import { decode as decodePng } from "fast-png";
import { decode as decodeJpeg } from "jpeg-js";
import { ImageError, type Raster } from "./raster";

/** Largest image, in pixels, when MAX_IMAGE_PIXELS is not set: 2048 × 2048. */
export const DEFAULT_MAX_IMAGE_PIXELS = 2048 * 2048;

type Format = "PNG" | "JPEG";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format the bytes say they are, whatever the Content-Type claimed. */
export function sniff(bytes: Uint8Array): Format | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "PNG";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "JPEG";
  return null;
}

/** The format a Content-Type names, or null. image/jpg is a common misspelling and taken too. */
export function formatOf(contentType: string): Format | null {
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

/** A JPEG's width and height from its frame header (SOFn), after checking the file reaches its end marker. */
function jpegSize(b: Uint8Array): [number, number] {
  let o = 2;
  let size: [number, number] | null = null;
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
    if (m === 0xda) {
      if (!size) throw corrupt("JPEG", "image data before any frame header (SOFn)");
      // Entropy-coded data escapes 0xFF as FF 00, so FF D9 only ever ends the image.
      for (let i = o + 2 + len; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] === 0xd9) return size;
      throw corrupt("JPEG", "the image data has no end marker (FFD9)");
    }
    o += 2 + len;
  }
  throw corrupt("JPEG", "no image data (SOS) was found");
}

/** What an image file's header says, read without decoding a pixel. */
export interface ImageHeader {
  format: Format;
  width: number;
  height: number;
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
  const [width, height] = format === "PNG" ? pngSize(bytes) : jpegSize(bytes);
  if (width === 0 || height === 0) throw corrupt(format, `its header says ${width}×${height} pixels`);
  return { format, width, height };
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
 * Decodes a PNG or JPEG into 8-bit pixels.
 * Grey, grey + alpha, RGB, RGBA, palette (with or without transparency) and
 * 16-bit PNGs come out as 1, 2, 3 or 4 channels of bytes; JPEGs as RGB.
 * Throws ImageError: 415 for a type other than PNG or JPEG, 413 for more
 * than `maxPixels` pixels (checked from the header, before decoding), 400
 * for corrupt or truncated data.
 *
 * @example
 * const img = decodeImage(new Uint8Array(await file.arrayBuffer()), file.type, 2048 * 2048);
 */
export function decodeImage(bytes: Uint8Array, contentType: string, maxPixels: number = DEFAULT_MAX_IMAGE_PIXELS): Raster {
  const header = imageHeader(bytes, contentType);
  checkPixels(header, maxPixels);
  const { format } = header;
  try {
    return format === "PNG" ? png(bytes) : jpeg(bytes, maxPixels);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const cause = (e as Error)?.cause as Error | undefined;
    throw corrupt(format, `${(e as Error)?.message ?? e}${cause?.message ? ` ${cause.message}` : ""}`.trim());
  }
}

function jpeg(bytes: Uint8Array, maxPixels: number): Raster {
  // RGB, not RGBA: a JPEG has no alpha. The decoder's own limits back up the
  // header check; it counts about 18 bytes per pixel of a 4:4:4 JPEG.
  const img = decodeJpeg(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxResolutionInMP: Math.ceil(maxPixels / 1e6),
    maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 24) / 2 ** 20)),
  });
  return { width: img.width, height: img.height, channels: 3, data: img.data };
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
