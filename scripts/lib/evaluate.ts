// Accuracy and confusion matrix of a network over an IDX split.
import { argmax } from "../../src/nn/functions";
import { forward, type Network } from "../../src/nn/network";
import type { Split } from "./datasets";

export interface Evaluation {
  correct: number;
  total: number;
  accuracy: number;
  /** confusion[true][predicted] */
  confusion: number[][];
}

/**
 * Scales bytes into a network input buffer by the service's rule
 * (src/http/input.ts): x = (pixel / 255) · (255 / scale), so that evaluation
 * and the service feed the network bit-identical inputs.
 */
export function toInput(pixels: Uint8Array, scale: number, out = new Float32Array(pixels.length)): Float32Array {
  const k = 255 / scale;
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] / 255) * k;
  return out;
}

export function evaluate(net: Network, split: Split, scale: number, classes = 10, chunk = 1000): Evaluation {
  const D = net.layers[0].inSize;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let s = 0; s < split.count; s += chunk) {
    const n = Math.min(chunk, split.count - s);
    const x = toInput(split.pixels.subarray(s * D, (s + n) * D), scale);
    const labels = argmax(forward(net, x, n, "label"), classes);
    for (let i = 0; i < n; i++) {
      const t = split.labels[s + i];
      confusion[t][labels[i]]++;
      if (labels[i] === t) correct++;
    }
  }
  return { correct, total: split.count, accuracy: correct / split.count, confusion };
}
