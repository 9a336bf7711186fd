// The IDX format of the MNIST files (big-endian):
//   images: magic 2051, count, rows, cols, then count*rows*cols bytes;
//   labels: magic 2049, count, then count bytes.
// Pure (no Node APIs): the Worker parses IDX request bodies with it too.

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export class IdxError extends Error {
  override name = "IdxError";
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count*rows*cols pixel bytes, a view of the input (0 = background, 255 = ink). */
  pixels: Uint8Array;
}

/** True when bytes start like an IDX3 image file: a 16-byte header with magic 2051. */
export function isIdxImages(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 16 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) === IDX_IMAGES_MAGIC;
}

function header(bytes: Uint8Array, words: number, what: string): DataView {
  if (bytes.byteLength < words * 4) throw new IdxError(`${what}: ${bytes.byteLength} bytes is too short for an IDX header of ${words * 4} bytes`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parses an uncompressed IDX3 image file. `what` names the file in errors. */
export function parseIdxImages(bytes: Uint8Array, what = "images"): IdxImages {
  const dv = header(bytes, 4, what);
  const magic = dv.getUint32(0);
  if (magic !== IDX_IMAGES_MAGIC)
    throw new IdxError(`${what}: magic number ${magic}, expected ${IDX_IMAGES_MAGIC} for an IDX image file (is it still gzip'd, or a label file?)`);
  const count = dv.getUint32(4);
  const rows = dv.getUint32(8);
  const cols = dv.getUint32(12);
  if (rows === 0 || cols === 0) throw new IdxError(`${what}: image size ${rows}x${cols} is empty`);
  const need = 16 + count * rows * cols;
  if (bytes.byteLength !== need)
    throw new IdxError(`${what}: header says ${count} images of ${rows}x${cols} (${need} bytes) but the file has ${bytes.byteLength} bytes`);
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Parses an uncompressed IDX1 label file. */
export function parseIdxLabels(bytes: Uint8Array, what = "labels"): Uint8Array {
  const dv = header(bytes, 2, what);
  const magic = dv.getUint32(0);
  if (magic !== IDX_LABELS_MAGIC) throw new IdxError(`${what}: magic number ${magic}, expected ${IDX_LABELS_MAGIC} for an IDX label file`);
  const count = dv.getUint32(4);
  if (bytes.byteLength !== 8 + count) throw new IdxError(`${what}: header says ${count} labels but the file has ${bytes.byteLength - 8} label bytes`);
  return bytes.subarray(8);
}

/** Writes an IDX3 image file (used by tests and clients that send binary batches). */
export function encodeIdxImages(pixels: Uint8Array, count: number, rows = 28, cols = 28): Uint8Array {
  const out = new Uint8Array(16 + pixels.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, IDX_IMAGES_MAGIC);
  dv.setUint32(4, count);
  dv.setUint32(8, rows);
  dv.setUint32(12, cols);
  out.set(pixels, 16);
  return out;
}

/** Writes an IDX1 label file. */
export function encodeIdxLabels(labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + labels.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, IDX_LABELS_MAGIC);
  dv.setUint32(4, labels.length);
  out.set(labels, 8);
  return out;
}
