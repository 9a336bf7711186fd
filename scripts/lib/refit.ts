// The service's own reading of a digit, for training: a picture a client sends
// never reaches the network as MNIST's raw digit but as what
// src/image/preprocess.ts makes of it (the ink's box refitted into 20×20,
// centred by mass, resampled). Training on digits that went through the same
// path lets a model see at training time what it sees in service.
import { recipeFor, toMnist } from "../../src/image/preprocess";
import { resize } from "./robustness-set";

/** How much larger the digit is drawn before the service reads it (bilinear, as a scan or a large drawing would be). */
const FACTOR = 3;

/**
 * A side × side digit (ink high) drawn FACTOR× larger as dark ink on white,
 * then read back by the service's preprocessing into `out`. Returns `out`, or
 * null when the picture has no ink the service would read (the caller keeps
 * the digit as it was).
 */
export function refit(src: Uint8Array, side: number, out: Uint8Array = new Uint8Array(side * side)): Uint8Array | null {
  const big = resize({ v: Float32Array.from(src), W: side, H: side }, side * FACTOR, side * FACTOR);
  const data = new Uint8ClampedArray(big.v.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - big.v[i];
  try {
    out.set(toMnist({ width: big.W, height: big.H, channels: 1, data }, recipeFor("mnist", side)).pixels);
    return out;
  } catch {
    return null;
  }
}
