import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeIdxImages, encodeIdxLabels } from "../../src/data/idx";
import { datasetFiles, datasetPresent, loadIdxPair, loadSplit, MNIST_DIR, skipWithoutData } from "../fixtures/datasets";

const dir = mkdtempSync(join(tmpdir(), "idx-"));
function write(name: string, bytes: Uint8Array, gz = true): string {
  const p = join(dir, name);
  writeFileSync(p, gz ? gzipSync(bytes) : bytes);
  return p;
}

describe("IDX files on disk", () => {
  it("should read gzip'd and plain files the test writes", () => {
    const pixels = new Uint8Array(5 * 784).map((_, i) => (i * 7) % 256);
    const labels = new Uint8Array([3, 1, 4, 1, 5]);
    for (const gz of [true, false]) {
      const split = loadIdxPair(write(`i${gz}`, encodeIdxImages(pixels, 5), gz), write(`l${gz}`, encodeIdxLabels(labels), gz));
      expect(split.count).toBe(5);
      expect([...split.labels]).toEqual([3, 1, 4, 1, 5]);
      expect([...split.pixels]).toEqual([...pixels]);
    }
  });

  it("should say what to do when a file is missing", () => {
    expect(() => loadIdxPair(join(dir, "nope.gz"), join(dir, "nope2.gz"), "set MNIST_DIR")).toThrow(/nope\.gz not found: set MNIST_DIR/);
  });

  it("should refuse a corrupt gzip file", () => {
    const bad = write("bad.gz", new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), false);
    expect(() => loadIdxPair(bad, bad)).toThrow(/not a valid gzip file/);
  });

  it("should refuse labels that do not match the images", () => {
    const img = write("i3", encodeIdxImages(new Uint8Array(3 * 784), 3));
    expect(() => loadIdxPair(img, write("l2", encodeIdxLabels(new Uint8Array(2))))).toThrow(/2 labels for 3 images/);
    expect(() => loadIdxPair(img, write("l3", encodeIdxLabels(new Uint8Array([1, 2, 12]))))).toThrow(/label 12 at index 2/);
  });

  it("should refuse images that are not 28x28", () => {
    const img = write("small", encodeIdxImages(new Uint8Array(2 * 16), 2, 4, 4));
    expect(() => loadIdxPair(img, write("l", encodeIdxLabels(new Uint8Array(2))))).toThrow(/4x4, expected 28x28/);
  });

  it("should refuse an image file given as labels (swapped paths)", () => {
    const img = write("sw", encodeIdxImages(new Uint8Array(784), 1));
    expect(() => loadIdxPair(img, img)).toThrow(/expected 2049/);
  });
});

const mnist = datasetPresent("mnist", "test") && datasetPresent("mnist", "train");
describe("the MNIST files", () => {
  it.skipIf(skipWithoutData(mnist))(`should hold 60000 train and 10000 test images (needs ${MNIST_DIR})`, () => {
    const test = loadSplit("mnist", "test");
    expect(test.count).toBe(10000);
    expect(test.pixels.length).toBe(10000 * 784);
    expect(loadSplit("mnist", "train").count).toBe(60000);
    expect(datasetFiles("mnist", "test")[0]).toMatch(/t10k-images-idx3-ubyte\.gz$/);
  });
});
