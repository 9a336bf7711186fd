// Accuracy and confusion matrix of a network over an IDX split.
import type { LoadedNetwork } from "../../src/nn/backend";
import { argmax } from "../../src/nn/functions";
import type { Split } from "../../test/fixtures/datasets";

export interface Evaluation {
  correct: number;
  total: number;
  accuracy: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  /** The predicted label of each image, in order. */
  labels: Int32Array;
}

/** Runs a loaded network over a split, `chunk` images at a time, as the service does (raw pixels divided by `scale`). */
export function evaluate(net: LoadedNetwork, split: Split, scale: number, classes = 10, chunk = 1000): Evaluation {
  const D = net.sizes[0];
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const labels = new Int32Array(split.count);
  let correct = 0;
  for (let s = 0; s < split.count; s += chunk) {
    const n = Math.min(chunk, split.count - s);
    labels.set(argmax(net.forwardPixels(split.pixels.subarray(s * D, (s + n) * D), n, scale, { softmax: false }), classes), s);
  }
  split.labels.subarray(0, split.count).forEach((t, i) => {
    confusion[t][labels[i]]++;
    if (labels[i] === t) correct++;
  });
  return { correct, total: split.count, accuracy: correct / split.count, confusion, labels };
}
