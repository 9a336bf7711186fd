// An 8-bit image in memory, the one shape every image path shares: the
// decoders return it, the browser's canvas gives it (ImageData is a Raster
// with 4 channels) and the MNIST preprocessing reads it.
// Pure TypeScript: the page and the Worker run the same code.

/** Interleaved 8-bit pixels: 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA. */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  /** width × height × channels bytes, row-major. */
  data: Uint8Array | Uint8ClampedArray;
}

/**
 * What can be wrong with a picture, as a kind (src/http maps kinds to
 * statuses; the page tests the kind):
 * - `unsupported`: not PNG or JPEG;
 * - `corrupt`: truncated or damaged data;
 * - `too-large`: more pixels than the limit allows;
 * - `blank`: no ink to read;
 * - `wrong-size`: not the size the caller asked for (taken as it is).
 */
export type ImageErrorKind = "unsupported" | "corrupt" | "too-large" | "blank" | "wrong-size";

/** A picture that cannot be read, with its kind and what to do about it. */
export class ImageError extends Error {
  override name = "ImageError";
  readonly kind: ImageErrorKind;
  constructor(message: string, kind: ImageErrorKind) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Any raster as RGBA bytes (grey spread to R, G and B; alpha 255 when there
 * is none): what a canvas's ImageData and jpeg-js's encoder take.
 * @example ctx.putImageData(new ImageData(new Uint8ClampedArray(toRgba(img)), img.width), 0, 0);
 */
export function toRgba(img: Raster): Uint8Array {
  const { channels: ch, data } = img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const p = i * ch;
    const grey = ch < 3;
    out[i * 4] = data[p];
    out[i * 4 + 1] = grey ? data[p] : data[p + 1];
    out[i * 4 + 2] = grey ? data[p] : data[p + 2];
    out[i * 4 + 3] = ch === 2 || ch === 4 ? data[p + ch - 1] : 255;
  }
  return out;
}
