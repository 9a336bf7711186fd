import { describe, expect, it } from "vitest";
import { encodeIdxImages, encodeIdxLabels, IdxError, parseIdxImages, parseIdxLabels } from "./idx";

describe("IDX reader", () => {
  it("should read images and labels the test writes", () => {
    const pixels = new Uint8Array(3 * 784).map((_, i) => i % 256);
    const img = parseIdxImages(encodeIdxImages(pixels, 3));
    expect([img.count, img.rows, img.cols]).toEqual([3, 28, 28]);
    expect([...img.pixels]).toEqual([...pixels]);
    expect([...parseIdxLabels(encodeIdxLabels(new Uint8Array([7, 2, 1])))]).toEqual([7, 2, 1]);
  });

  it("should read other image sizes", () => {
    const img = parseIdxImages(encodeIdxImages(new Uint8Array(2 * 12), 2, 3, 4));
    expect([img.count, img.rows, img.cols]).toEqual([2, 3, 4]);
  });

  it("should refuse a wrong magic number and hint at gzip", () => {
    const b = encodeIdxImages(new Uint8Array(784), 1);
    b[3] = 0x02; // 2050
    expect(() => parseIdxImages(b)).toThrow(/magic number 2050, expected 2051.*gzip/);
    expect(() => parseIdxImages(encodeIdxLabels(new Uint8Array(1)))).toThrow(IdxError);
    expect(() => parseIdxLabels(encodeIdxImages(new Uint8Array(784), 1))).toThrow(/expected 2049/);
  });

  it("should refuse a count that does not match the bytes", () => {
    expect(() => parseIdxImages(encodeIdxImages(new Uint8Array(784), 2))).toThrow(/header says 2 images/);
    const l = encodeIdxLabels(new Uint8Array(3));
    expect(() => parseIdxLabels(l.subarray(0, 10))).toThrow(/header says 3 labels/);
  });

  it("should refuse a header that is cut short", () => {
    expect(() => parseIdxImages(new Uint8Array(10))).toThrow(/too short/);
    expect(() => parseIdxLabels(new Uint8Array(3))).toThrow(/too short/);
  });

  it("should refuse empty image dimensions", () => {
    expect(() => parseIdxImages(encodeIdxImages(new Uint8Array(0), 0, 0, 28))).toThrow(/empty/);
  });
});
