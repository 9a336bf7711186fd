import { describe, expect, it } from "vitest";
import { boundingBox } from "./preprocess";
import { ImageError, type Raster } from "./raster";
import { MAX_DIGITS, segmentDigits } from "./segment";
import { refusal } from "../../test/helpers";

/** White paper W × H with black rectangles [x, y, w, h]: digits' strokes, specks. */
function drawing(W: number, H: number, rects: [number, number, number, number][]): Raster {
  const data = new Uint8Array(W * H).fill(255);
  for (const [x0, y0, w, h] of rects) for (let y = y0; y < y0 + h; y++) data.fill(0, y * W + x0, y * W + x0 + w);
  return { width: W, height: H, channels: 1, data };
}

/** A "1" (one bar), a "7" (bar and stem touching) and a "5"-like digit whose flag does not touch its body. */
const ONE: [number, number, number, number][] = [[40, 30, 8, 60]];
const SEVEN: [number, number, number, number][] = [
  [100, 30, 40, 8],
  [132, 30, 8, 60],
];
const FIVE: [number, number, number, number][] = [
  [190, 45, 8, 20], // body: down, across, down, across
  [190, 60, 35, 8],
  [220, 60, 8, 30],
  [190, 84, 35, 8],
  [192, 30, 36, 8], // the flag, apart from the body
];

describe("segmentDigits", () => {
  it("should find three digits left to right, with their boxes in the picture's pixels", () => {
    const { digits, pixels, inverted } = segmentDigits(drawing(280, 120, [...FIVE, ...ONE, ...SEVEN]));
    expect(inverted).toBe(true);
    expect(digits.map((d) => d.box)).toEqual([
      [40, 30, 8, 60],
      [100, 30, 40, 60],
      [190, 30, 38, 62],
    ]);
    expect(pixels.length).toBe(3 * 784);
    // Each digit is fitted as MNIST's: its longer side 20 pixels.
    for (const d of digits) expect(Math.max(...boundingBox(Float32Array.from(d.pixels), 28, 28).slice(2))).toBe(20);
    expect([...pixels.subarray(784, 1568)]).toEqual([...digits[1].pixels]);
  });

  it("should join a digit's strokes that do not touch, and keep neighbours apart", () => {
    const { digits } = segmentDigits(drawing(280, 120, FIVE));
    expect(digits).toHaveLength(1);
    expect(digits[0].box).toEqual([190, 30, 38, 62]);
  });

  it("should drop specks and dots", () => {
    const specks: [number, number, number, number][] = [
      [10, 10, 2, 2],
      [260, 110, 3, 3],
      [70, 84, 6, 6], // a full stop between the 1 and the 7
    ];
    const { digits } = segmentDigits(drawing(280, 120, [...ONE, ...specks, ...SEVEN]));
    expect(digits.map((d) => d.box)).toEqual([
      [40, 30, 8, 60],
      [100, 30, 40, 60],
    ]);
  });

  it("should scale boxes by the decoder's scale and its own shrinking", () => {
    const { digits } = segmentDigits(drawing(280, 120, ONE), {}, 4);
    expect(digits[0].box).toEqual([160, 120, 32, 240]);
    // 2100 wide is shrunk by 3 to work on; boxes come back in the picture's pixels.
    const wide = segmentDigits(drawing(2100, 300, [[300, 60, 24, 180]]));
    expect(wide.digits[0].box).toEqual([300, 60, 24, 180]);
  });

  it("should cut digits touching in a group over twice their height wide, and leave one wide digit whole", () => {
    // Two 64×60 rings joined by a short bar at the middle: 130 wide.
    const ring = (x: number): [number, number, number, number][] => [
      [x, 30, 64, 8],
      [x, 82, 64, 8],
      [x, 30, 8, 60],
      [x + 56, 30, 8, 60],
    ];
    const { digits } = segmentDigits(drawing(240, 120, [...ring(40), ...ring(106), [104, 58, 2, 4]]));
    expect(digits).toHaveLength(2);
    expect(digits[0].box[0]).toBe(40);
    expect(Math.abs(digits[1].box[0] - 105)).toBeLessThanOrEqual(4);
    expect(segmentDigits(drawing(240, 120, ring(40))).digits).toHaveLength(1);
  });

  it("should refuse blank pictures, and more than MAX_DIGITS digits as too large", () => {
    expect(refusal(() => segmentDigits(drawing(100, 60, [])), ImageError).kind).toBe("blank");
    const many = Array.from({ length: MAX_DIGITS + 1 }, (_, i): [number, number, number, number] => [10 + i * 20, 20, 6, 40]);
    const e = refusal(() => segmentDigits(drawing(10 + (MAX_DIGITS + 1) * 20, 80, many)), ImageError);
    expect(e.kind).toBe("too-large");
    expect(e.message).toMatch(new RegExp(`more than ${MAX_DIGITS} digits`));
  });
});
