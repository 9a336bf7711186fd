import { describe, expect, it } from "vitest";
import { boundingBox, centreOfMass } from "../../src/image/preprocess";
import { refit } from "./refit";

const S = 28;

/** A small bar of ink in a corner: far from MNIST's 20-pixel box and centred mass. */
function cornerBar(): Uint8Array {
  const img = new Uint8Array(S * S);
  for (let y = 2; y < 12; y++) for (let x = 3; x < 6; x++) img[y * S + x] = 255;
  return img;
}

describe("refit", () => {
  it("should give a digit as the service reads it: its box 20 pixels tall, its mass at the centre", () => {
    const out = refit(cornerBar(), S);
    expect(out).not.toBeNull();
    const v = Float32Array.from(out as Uint8Array);
    const [, , w, h] = boundingBox(v, S, S);
    // The bar is taller than wide, so its height fills the box (a pixel of anti-aliasing either side at most).
    expect(h).toBeGreaterThanOrEqual(19);
    expect(h).toBeLessThanOrEqual(22);
    expect(w).toBeLessThan(h / 2);
    const [cx, cy] = centreOfMass(v, S, S);
    expect(Math.abs(cx - S / 2)).toBeLessThan(1);
    expect(Math.abs(cy - S / 2)).toBeLessThan(1);
  });

  it("should write into the buffer it is given and leave its input as it was", () => {
    const src = cornerBar();
    const copy = src.slice();
    const out = new Uint8Array(S * S);
    expect(refit(src, S, out)).toBe(out);
    expect(src).toEqual(copy);
    expect(out).not.toEqual(copy);
  });

  it("should give null for a digit with no ink, so the caller keeps it", () => {
    expect(refit(new Uint8Array(S * S), S)).toBeNull();
  });
});
