// MNIST's own test digits, sent as PNGs of their 28×28 pixels, must be read
// as the network reads their raw pixels: exactly, with preprocess=none; and,
// through the full recipe (which every other image takes), to the same label.
import { readFileSync } from "node:fs";
import { encode as encodePng } from "fast-png";
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../src/config";
import { decodeImage, imageHeader } from "../../src/image/decode";
import { asMnist, toMnist } from "../../src/image/preprocess";
import { decodeModel } from "../../src/model/format";
import { argmax } from "../../src/nn/functions";
import { pixelsToInput } from "../../src/nn/network";
import { datasetPresent, loadSplit, MNIST_DIR, skipWithoutData } from "../fixtures/datasets";
import { weightsFile } from "../../scripts/lib/paths";

const SAMPLE = 2000;
const skip = skipWithoutData(datasetPresent("mnist", "test"));

describe("MNIST test digits as PNG", () => {
  const model = decodeModel(readFileSync(weightsFile("mnist-mlp")));
  const labels = (pixels: Uint8Array, n: number) => argmax(model.network.forward(pixelsToInput(pixels, model.inputScale), n, { softmax: false }), 10);

  it.skipIf(skip)(`should predict exactly as their raw pixels, with preprocess=none and with the full recipe (needs ${MNIST_DIR})`, () => {
    const test = loadSplit("mnist", "test");
    const raw = test.pixels.subarray(0, SAMPLE * 784);
    const none = new Uint8Array(SAMPLE * 784);
    const full = new Uint8Array(SAMPLE * 784);
    let same = 0;
    for (let n = 0; n < SAMPLE; n++) {
      const digit = raw.subarray(n * 784, n * 784 + 784);
      const png = encodePng({ width: 28, height: 28, data: digit, channels: 1, depth: 8 });
      const img = decodeImage(png, imageHeader(png, "image/png"), DEFAULTS.MAX_IMAGE_PIXELS);
      none.set(asMnist(img).pixels, n * 784);
      const { pixels, inverted } = toMnist(img);
      expect(inverted).toBe(false);
      full.set(pixels, n * 784);
      if (pixels.every((p, i) => p === digit[i])) same++;
    }
    expect(none).toEqual(raw);
    const want = labels(raw, SAMPLE);
    const got = labels(full, SAMPLE);
    const agree = want.filter((l, i) => l === got[i]).length;
    console.log(`full recipe on ${SAMPLE} MNIST digits: ${same} unchanged, ${agree} same label (${((100 * agree) / SAMPLE).toFixed(2)}%)`);
    expect(agree / SAMPLE).toBeGreaterThanOrEqual(0.99);
  });
});
