import { describe, expect, it } from "vitest";
import { rng } from "../../src/nn/random";
import { type AugmentOptions, augment, augments, drawWarp, elasticBank, elasticField, HANDWRITTEN, IDENTITY, morph, NO_DISTORTION } from "./augment";

const S = 28;

/** A digit-like test image: a ring of grey ink with a soft edge, off-centre. */
function ring(): Uint8Array {
  const img = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const r = Math.hypot(x - 12, y - 14);
      img[y * S + x] = Math.max(0, Math.min(255, Math.round(255 * (2 - Math.abs(r - 7)))));
    }
  return img;
}

const mass = (img: Uint8Array) => img.reduce((s, v) => s + v, 0);
const opts: AugmentOptions = { ...HANDWRITTEN, p: 1 };

describe("augment", () => {
  it("should return the same image for the identity warp and for a rotation by 0", () => {
    const img = ring();
    expect(augment(img, S, IDENTITY)).toEqual(img);
    expect(augment(img, S, { ...IDENTITY, angle: 0, scale: 1, thickness: 0 })).toEqual(img);
  });

  it("should shift by whole pixels exactly", () => {
    const img = ring();
    const out = augment(img, S, { ...IDENTITY, dx: 2, dy: -1 });
    for (let y = 1; y < S - 1; y++) for (let x = 2; x < S; x++) expect(out[(y - 1) * S + x]).toBe(img[y * S + x - 2]);
  });

  it("should rotate counter-clockwise about the centre", () => {
    // One dot right of the centre (13.5, 13.5) ends up above it after a quarter turn.
    const img = new Uint8Array(S * S);
    img[13 * S + 20] = 200;
    const out = augment(img, S, { ...IDENTITY, angle: Math.PI / 2 });
    const at = out.findIndex((v) => v > 0);
    expect(out.filter((v) => v > 0).length).toBe(1);
    expect([at % S, Math.floor(at / S)]).toEqual([13, 7]);
  });

  it("should make a digit larger when scaled up", () => {
    const img = ring();
    expect(mass(augment(img, S, { ...IDENTITY, scale: 1.2 }))).toBeGreaterThan(mass(img) * 1.3);
    expect(mass(augment(img, S, { ...IDENTITY, scale: 0.8 }))).toBeLessThan(mass(img) * 0.9);
  });

  it("should add ink when thicker and remove it when thinner", () => {
    const img = ring();
    const thick = augment(img, S, { ...IDENTITY, thickness: 0.5 });
    const thin = augment(img, S, { ...IDENTITY, thickness: -0.5 });
    expect(mass(thick)).toBeGreaterThan(mass(img));
    expect(mass(thin)).toBeLessThan(mass(img));
    // A full dilation is the morphology itself.
    expect(augment(img, S, { ...IDENTITY, thickness: 1 })).toEqual(morph(img, S, "dilate"));
  });

  it("should give the same output for the same seed, another for another seed", () => {
    const run = (seed: number) => {
      const r = rng(seed);
      const bank = elasticBank(4, S, opts, r);
      return augment(ring(), S, drawWarp(opts, bank, r));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(4)).not.toEqual(run(3));
  });

  it("should keep every pixel in [0, 255] under any distortion", () => {
    const r = rng(9);
    const strong = { ...opts, rotate: 45, scale: 0.5, thickness: 1, elastic: 60, elasticSigma: 3 };
    const bank = elasticBank(8, S, strong, r);
    const img = ring();
    for (let i = 0; i < 50; i++) {
      const out = augment(img, S, drawWarp(strong, bank, r));
      expect(out.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    }
  });

  it("should draw smooth elastic fields that move pixels by about α times their smoothed noise", () => {
    const f = elasticField(S, 30, 5, rng(1));
    expect(f.length).toBe(2 * S * S);
    const max = f.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(max).toBeGreaterThan(0.3);
    expect(max).toBeLessThan(30);
    // Smooth: neighbours differ far less than the field's range.
    let step = 0;
    for (let i = 1; i < S; i++) step = Math.max(step, Math.abs(f[i] - f[i - 1]));
    expect(step).toBeLessThan(max / 2);
  });

  it("should distort only when a range is set", () => {
    expect(augments(NO_DISTORTION)).toBe(false);
    expect(augments({ ...opts, p: 0 })).toBe(false);
    expect(augments(opts)).toBe(true);
  });
});
