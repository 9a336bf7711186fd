// What a PNG or JPEG file's header says (format, size, EXIF Orientation),
// read without decoding a pixel and without the decoders: a request checks
// its pictures here at once, and loads the decoders (./decode.ts, with
// fast-png, fflate and jpeg-js) only to decode one.
import { ImageError } from "./raster";

export type Format = "PNG" | "JPEG";

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

/** The 400 for a file that is damaged or cut short: `why` says where. */
export function corrupt(format: Format, why: string): ImageError {
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
