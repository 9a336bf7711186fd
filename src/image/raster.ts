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

/** What an image request can get wrong, with the HTTP status that says so. */
export class ImageError extends Error {
  override name = "ImageError";
  readonly status: 400 | 413 | 415 | 422;
  constructor(message: string, status: 400 | 413 | 415 | 422) {
    super(message);
    this.status = status;
  }
}
