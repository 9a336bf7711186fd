// A picture of a number into its digits, left to right, each in MNIST's
// format for one batched forward pass: the ink (after the photo
// normalisation of preprocess.ts) cut into connected pieces, pieces of one
// digit joined, specks and dots dropped, touching digits cut by width
// (components.ts has the rules).
import { MAX_DIGITS } from "../config";
import { components, cutTouching, digitHeight, groupDigits } from "./components";
import { fitBox, ink, type MnistOptions, shrink } from "./preprocess";
import { ImageError, type Raster } from "./raster";

export { MAX_DIGITS };

/** One digit found: where it is, and its pixels for the network. */
export interface Digit {
  /** [x, y, w, h] in the picture's own pixels (as shown, after its EXIF orientation). */
  box: [number, number, number, number];
  /** size × size bytes, ink high, MNIST's recipe. */
  pixels: Uint8Array;
}

export interface Digits {
  digits: Digit[];
  /** Every digit's pixels, one after another: x (N, size²) bytes for one forward pass. */
  pixels: Uint8Array;
  /** True when the picture was dark ink on a light ground. */
  inverted: boolean;
}

/**
 * The digits written in a row in a picture, left to right.
 * img is (H, W, channels), as decoded; `scale` is how many picture pixels
 * one raster pixel stands for (decodeImage()'s `scale`, 1 for a drawing),
 * so boxes come out in the picture's own pixels.
 * Throws ImageError: blank when there is no ink; too-large for more than
 * MAX_DIGITS digits.
 *
 * @example
 * const img = decodeImage(bytes, imageHeader(bytes, type), maxPixels);
 * const { digits, pixels } = segmentDigits(img, recipeFor(model.metadata.dataset), img.scale);
 * // forward(network, pixels / inputScale, digits.length) → one label per digit
 */
export function segmentDigits(input: Raster, opts: MnistOptions = {}, scale = 1): Digits {
  const { img, factor } = shrink(input);
  const { width: W, height: H } = img;
  const { ink: v, inverted } = ink(img);
  const { labels, pieces } = components(v, W, H);
  const groups = groupDigits(pieces);
  const S = opts.size ?? 28;
  const k = factor * scale;
  const digits: Digit[] = [];
  const tall = digitHeight(groups);
  for (const g of groups) {
    const mine = new Set(g.pieces.map((p) => p.id));
    for (const [x0, x1] of cutTouching(g, v, W, tall)) {
      if (digits.length === MAX_DIGITS)
        throw new ImageError(`the picture holds more than ${MAX_DIGITS} digits; send at most ${MAX_DIGITS} in one picture`, "too-large");
      // The digit's own ink only: a neighbour reaching into its box is left out.
      const w = x1 - x0 + 1;
      const h = g.y1 - g.y0 + 1;
      const own = new Float32Array(w * h);
      let y0 = h;
      let y1 = -1;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const i = (g.y0 + y) * W + x0 + x;
          if (mine.has(labels[i])) {
            own[y * w + x] = v[i];
            if (v[i] > 0) {
              y0 = Math.min(y0, y);
              y1 = y;
            }
          }
        }
      if (y1 < 0) continue;
      const box: [number, number, number, number] = [0, y0, w, y1 - y0 + 1];
      digits.push({
        box: [Math.round(x0 * k), Math.round((g.y0 + y0) * k), Math.round(w * k), Math.round((y1 - y0 + 1) * k)],
        pixels: fitBox(own, w, box, opts),
      });
    }
  }
  if (digits.length === 0) throw new ImageError("the image is blank: draw or send a digit", "blank");
  const pixels = new Uint8Array(digits.length * S * S);
  digits.forEach((d, n) => {
    pixels.set(d.pixels, n * S * S);
  });
  return { digits, pixels, inverted };
}
