import { describe, expect, it } from "vitest";
import { asMnist, boundingBox, centreOfMass, resampleArea, shrink, toMnist } from "./preprocess";
import { ImageError, type Raster } from "./raster";

/** A grey picture W×H of one level, to draw on. */
function paper(W: number, H: number, level = 255): Raster {
  return { width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(level) };
}

function rect(img: Raster, x0: number, y0: number, w: number, h: number, level = 0): Raster {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) img.data[(y * img.width + x) * img.channels] = level;
  return img;
}

/** A thick ring (a zero) with a tail (so it has no symmetry to hide a flip), drawn at `level`. */
function zero(img: Raster, level = 0): Raster {
  const cx = img.width * 0.45;
  const cy = img.height * 0.5;
  const r = Math.min(img.width, img.height) * 0.3;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const d = Math.hypot((x - cx) * 1.4, y - cy);
      if (Math.abs(d - r) < r * 0.18) img.data[(y * img.width + x) * img.channels] = level;
    }
  }
  return rect(img, Math.round(cx + r * 0.5), Math.round(cy), Math.round(r * 0.15), Math.round(r * 0.9), level);
}

/** Ink bounding box [x0, y0, w, h] of a 28×28 result. */
function box(pixels: Uint8Array): [number, number, number, number] {
  return boundingBox(Float32Array.from(pixels), 28, 28);
}

function expectBlank(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    expect((e as ImageError).kind).toBe("blank");
    expect((e as ImageError).message).toMatch(/blank: draw or send a digit/);
    return;
  }
  throw new Error("expected the image to be refused as blank");
}

describe("toMnist", () => {
  it("should centre a square blob by its mass and fit it into 20×20", () => {
    const { pixels, inverted } = toMnist(rect(paper(100, 80), 10, 40, 30, 30));
    expect(inverted).toBe(true);
    const [cx, cy] = centreOfMass(pixels, 28, 28);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5);
    expect(box(pixels).slice(2)).toEqual([20, 20]);
    expect(Math.min(...pixels.filter((p) => p > 0))).toBe(255);
  });

  it("should keep a tall stroke's aspect: 20 tall, a fifth of that wide", () => {
    const { pixels } = toMnist(rect(paper(200, 200), 120, 30, 20, 100));
    expect(box(pixels).slice(2)).toEqual([4, 20]);
    const [cx, cy] = centreOfMass(pixels, 28, 28);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5);
  });

  it("should anti-alias a box that does not divide evenly", () => {
    // A 36×90 box into 8×20: each output pixel is 4.5 input pixels wide, so
    // the one over the bar's right edge (input 10 of 36) is part ink, part ground.
    const { pixels } = toMnist(rect(rect(paper(120, 120), 10, 10, 10, 90), 45, 50, 1, 1));
    const levels = new Set(pixels);
    expect([...levels].some((p) => p > 0 && p < 255)).toBe(true);
    expect(box(pixels)[3]).toBe(20);
  });

  it("should give the same 28×28 for inverted colours", () => {
    const dark = toMnist(zero(paper(140, 160, 255), 0));
    const light = toMnist(zero(paper(140, 160, 0), 255));
    expect(dark.inverted).toBe(true);
    expect(light.inverted).toBe(false);
    expect([...light.pixels]).toEqual([...dark.pixels]);
  });

  it("should treat grey paper and grey ink as ground and full ink", () => {
    const scan = toMnist(zero(paper(140, 160, 200), 40));
    expect(scan.inverted).toBe(true);
    expect([...scan.pixels]).toEqual([...toMnist(zero(paper(140, 160))).pixels]);
  });

  it("should tell a dark digit on mid-grey paper from a light one", () => {
    expect(toMnist(zero(paper(100, 100, 128), 0)).inverted).toBe(true);
    expect(toMnist(zero(paper(100, 100, 128), 255)).inverted).toBe(false);
  });

  it("should composite a transparent ground on white: RGBA equals the same digit on white", () => {
    const grey = zero(paper(90, 120));
    // Black ink whose alpha is the grey picture's darkness; the ground is fully transparent.
    const rgba: Raster = { width: 90, height: 120, channels: 4, data: new Uint8Array(90 * 120 * 4) };
    grey.data.forEach((g, i) => {
      rgba.data.set([0, 0, 0, 255 - g], i * 4);
    });
    expect([...toMnist(rgba).pixels]).toEqual([...toMnist(grey).pixels]);
    // White ink on a transparent ground vanishes on white; its alpha still draws it.
    rgba.data.forEach((_, i) => {
      if (i % 4 !== 3) rgba.data[i] = 255;
    });
    expect([...toMnist(rgba).pixels]).toEqual([...toMnist(grey).pixels]);
  });

  it("should read RGB by its luma", () => {
    const grey = zero(paper(60, 60));
    const rgb: Raster = { width: 60, height: 60, channels: 3, data: new Uint8Array(60 * 60 * 3) };
    grey.data.forEach((g, i) => {
      rgb.data.set(g === 0 ? [0, 0, 40] : [255, 255, 255], i * 3);
    });
    expect([...toMnist(rgb).pixels]).toEqual([...toMnist(grey).pixels]);
  });

  it("should refuse an empty image with a 422, not a guess", () => {
    expectBlank(() => toMnist(paper(64, 64, 255)));
    expectBlank(() => toMnist(paper(64, 64, 0)));
    expectBlank(() => toMnist(paper(1, 1, 30)));
    // Faint noise is not a digit either.
    const noisy = paper(64, 64, 250);
    noisy.data.forEach((_, i) => {
      noisy.data[i] = 240 + ((i * 7919) % 16);
    });
    expectBlank(() => toMnist(noisy));
    // A fully transparent canvas.
    expectBlank(() => toMnist({ width: 8, height: 8, channels: 4, data: new Uint8Array(256) }));
  });

  it("should leave a digit already in MNIST's format as it is", () => {
    // A 20×20 box from (4, 4) whose light first row and column put its centre of mass near (14, 14).
    const mnist = rect(paper(28, 28, 0), 4, 4, 20, 20, 255);
    rect(mnist, 4, 4, 20, 1, 30);
    rect(mnist, 4, 4, 1, 20, 30);
    rect(mnist, 9, 9, 10, 10, 128);
    expect([...toMnist(mnist).pixels]).toEqual([...mnist.data]);
  });

  it("should drop ink under a tenth of full strength, which would widen the box", () => {
    const bar = rect(paper(100, 100), 45, 20, 10, 60);
    const smudged = rect(rect(paper(100, 100), 45, 20, 10, 60), 5, 5, 3, 3, 235);
    expect([...toMnist(smudged).pixels]).toEqual([...toMnist(bar).pixels]);
  });

  it("should honour other field and box sizes", () => {
    const { pixels } = toMnist(rect(paper(50, 50), 5, 5, 10, 40), { size: 16, box: 12 });
    expect(pixels.length).toBe(256);
    expect(boundingBox(Float32Array.from(pixels), 16, 16)[3]).toBe(12);
  });
});

describe("toMnist for Fashion-MNIST", () => {
  it("should fill the field and centre the box, not the mass", () => {
    // An L: most of its mass is low and left, its box is square.
    const img = rect(rect(paper(110, 110), 20, 10, 10, 80), 20, 80, 80, 10);
    const { pixels } = toMnist(img, { box: 28, centre: "box" });
    expect(box(pixels)).toEqual([0, 0, 28, 28]);
    expect(toMnist(img).pixels).not.toEqual(pixels);
  });
});

describe("resampleArea", () => {
  it("should keep the ink's mass when shrinking", () => {
    const v = new Float32Array(37 * 23).map((_, i) => (i * 31) % 256);
    const out = resampleArea(v, 37, [3, 2, 29, 19], 20, 13);
    let inBox = 0;
    for (let y = 2; y < 21; y++) for (let x = 3; x < 32; x++) inBox += v[y * 37 + x];
    const mass = out.reduce((s, p) => s + p, 0) * ((29 * 19) / (20 * 13));
    expect(mass).toBeCloseTo(inBox, 0);
  });

  it("should average 2×2 blocks when halving", () => {
    const v = Float32Array.from([0, 4, 8, 8, 0, 0, 8, 8]);
    expect([...resampleArea(v, 4, [0, 0, 4, 2], 2, 1)]).toEqual([1, 8]);
  });
});

describe("asMnist", () => {
  it("should take a 28×28 picture exactly as it is, ink high", () => {
    const digit = zero(paper(28, 28, 0), 255);
    digit.data[100] = 77;
    expect([...asMnist(digit).pixels]).toEqual([...digit.data]);
    const onWhite = paper(28, 28);
    digit.data.forEach((p, i) => {
      onWhite.data[i] = 255 - p;
    });
    expect(asMnist(onWhite)).toEqual({ pixels: digit.data, inverted: true });
  });

  it("should refuse other sizes and blank pictures with a 422", () => {
    expect(() => asMnist(paper(28, 29))).toThrow(/exactly 28×28 pixels; this one is 28×29/);
    expectBlank(() => asMnist(paper(28, 28)));
  });
});

describe("toMnist: photos", () => {
  /** Grey paper lit unevenly: light falling from 250 at the left to 150 at the right, a darker bottom-right corner. */
  function gradientPhoto(W: number, H: number): Raster {
    const img = paper(W, H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) img.data[y * W + x] = Math.round((250 - (100 * x) / W) * (1 - 0.3 * (x / W) * (y / H)) + (((x * 31 + y * 17) % 7) - 3));
    return img;
  }
  /** Ink drawn onto a photo as a share of its light (so it is dark in the light and darker still in shadow). */
  function write(img: Raster, digit: Raster, strength = 0.85): Raster {
    for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round(img.data[i] * (1 - strength * (1 - digit.data[i] / 255)));
    return img;
  }

  it("should read a digit on a gradient as on white paper", () => {
    const clean = toMnist(zero(paper(300, 200)));
    const photo = toMnist(write(gradientPhoto(300, 200), zero(paper(300, 200))));
    expect(photo.inverted).toBe(true);
    // The same box, and nearly the same pixels.
    expect(box(photo.pixels)).toEqual(box(clean.pixels));
    let diff = 0;
    for (let i = 0; i < 784; i++) diff += Math.abs(photo.pixels[i] - clean.pixels[i]);
    expect(diff / 784).toBeLessThan(8);
  });

  it("should refuse the same gradient photo with nothing written, with ruled lines, and with a shadow, as blank", () => {
    expectBlank(() => toMnist(gradientPhoto(300, 200)));
    const ruled = gradientPhoto(300, 200);
    for (let y = 10; y < 200; y += 18) for (let x = 0; x < 300; x++) ruled.data[y * 300 + x] = Math.round(ruled.data[y * 300 + x] * 0.8);
    expectBlank(() => toMnist(ruled));
    const shadow = gradientPhoto(300, 200);
    for (let y = 0; y < 200; y++)
      for (let x = 0; x < 300; x++) shadow.data[y * 300 + x] = Math.round(shadow.data[y * 300 + x] * (1 - 0.4 / (1 + Math.exp(-(x - y - 50) / 12))));
    expectBlank(() => toMnist(shadow));
  });

  it("should read a digit written across ruled lines as without them", () => {
    const lined = write(gradientPhoto(300, 200), zero(paper(300, 200)));
    for (let y = 10; y < 200; y += 18) for (let x = 0; x < 300; x++) lined.data[y * 300 + x] = Math.round(lined.data[y * 300 + x] * 0.8);
    const plain = toMnist(write(gradientPhoto(300, 200), zero(paper(300, 200))));
    expect(box(toMnist(lined).pixels)).toEqual(box(plain.pixels));
  });

  it("should drop a speck far from the digit in a photo, which would otherwise widen its box", () => {
    const speck = write(gradientPhoto(300, 200), rect(zero(paper(300, 200)), 280, 185, 3, 3));
    expect(box(toMnist(speck).pixels)).toEqual(box(toMnist(write(gradientPhoto(300, 200), zero(paper(300, 200)))).pixels));
  });

  it("should shrink a picture over WORK_SIDE by a whole factor first", () => {
    const { img, factor } = shrink(rect(paper(2100, 1000), 0, 0, 700, 1000), 1024);
    expect(factor).toBe(3);
    expect([img.width, img.height]).toEqual([700, 333]);
    expect(img.data[0]).toBe(0);
    expect(img.data[699]).toBe(255);
  });
});
