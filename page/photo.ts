// A picked or dropped photo made fit to send: turned upright by its EXIF
// Orientation and scaled so its long side is at most MAX_SIDE, in the
// browser, so a phone's 12 MP photo is never refused as too large (413) and
// the upload is small. What the page then shows, boxes included, is this
// upright picture.

/** The long side a photo is scaled to at most before it is sent. */
const MAX_SIDE = 1024;

/** A picture ready to send: the file to send and, when the browser could decode it, the upright image to show. */
export interface Picture {
  blob: Blob;
  /** The picture as shown (oriented, scaled as sent); absent when the browser could not decode it. */
  image?: CanvasImageSource;
  width: number;
  height: number;
}

/**
 * The photo upright and at most MAX_SIDE on its long side: decoded with
 * its orientation applied (createImageBitmap, imageOrientation "from-image"),
 * drawn smaller on a canvas and saved again as the same type (JPEG at
 * quality 0.92). A picture small enough already is sent as it is (the
 * service applies its EXIF Orientation itself). One the browser cannot
 * decode is sent as it is too, for the service to say what is wrong with it.
 */
export async function fitPhoto(file: Blob): Promise<Picture> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return { blob: file, width: 0, height: 0 };
  }
  const { width, height } = bitmap;
  const long = Math.max(width, height);
  if (long <= MAX_SIDE) return { blob: file, image: bitmap, width, height };
  const w = Math.max(1, Math.round((width * MAX_SIDE) / long));
  const h = Math.max(1, Math.round((height * MAX_SIDE) / long));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) return { blob: file, image: bitmap, width, height };
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  const type = file.type === "image/png" ? "image/png" : "image/jpeg";
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the photo could not be scaled; choose a smaller one"))), type, 0.92),
  );
  return { blob, image: canvas, width: w, height: h };
}
