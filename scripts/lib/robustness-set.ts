// The robustness set: MNIST test digits made to look drawn, scanned or
// photographed. Each variant takes a 28×28 digit (ink high) and gives a
// picture as a client would send it, usually dark ink on white paper.
// Deterministic: each picture's randomness comes from a generator seeded
// with the digit's index (src/nn/random.ts).
import type { Raster } from "../../src/image/raster";
import { morph } from "./augment";

/** Ink levels (H, W) as floats in [0, 255]. */
export interface Ink {
  v: Float32Array;
  W: number;
  H: number;
}

/** Bilinear sample of ink at (x, y) in pixel-centre coordinates; 0 outside. */
export function sample(a: Ink, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const { v, W, H } = a;
  const o = y0 * W + x0;
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) return (v[o] * (1 - fx) + v[o + 1] * fx) * (1 - fy) + (v[o + W] * (1 - fx) + v[o + W + 1] * fx) * fy;
  if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) return 0;
  const at = (i: number, j: number) => (i >= 0 && j >= 0 && i < W && j < H ? v[j * W + i] : 0);
  return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}

/** Resizes ink to W × H with bilinear interpolation (smooth, like a scan of the digit). */
export function resize(a: Ink, W: number, H: number): Ink {
  const v = new Float32Array(W * H);
  const sx = a.W / W;
  const sy = a.H / H;
  for (let y = 0; y < H; y++) {
    const fy = (y + 0.5) * sy - 0.5;
    for (let x = 0; x < W; x++) v[y * W + x] = sample(a, (x + 0.5) * sx - 0.5, fy);
  }
  return { v, W, H };
}

/** Rotates ink by `deg` degrees (counter-clockwise) about its centre. */
export function rotate(a: Ink, deg: number): Ink {
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const cx = (a.W - 1) / 2;
  const cy = (a.H - 1) / 2;
  const v = new Float32Array(a.W * a.H);
  for (let y = 0; y < a.H; y++) {
    for (let x = 0; x < a.W; x++) {
      const dx = x - cx;
      const dy = y - cy;
      v[y * a.W + x] = sample(a, cx + c * dx - s * dy, cy + s * dx + c * dy);
    }
  }
  return { v, W: a.W, H: a.H };
}

/** Strokes one pixel thicker or thinner on each side, with the trainer's 3×3 cross morphology. */
function thickness(a: Ink, op: "dilate" | "erode"): Ink {
  if (a.W !== a.H) throw new Error("thickness: expects square ink");
  return { v: Float32Array.from(morph(Uint8Array.from(a.v, Math.round), a.W, op)), W: a.W, H: a.H };
}

/** Puts ink on a larger canvas W × H at (x0, y0). */
function place(a: Ink, W: number, H: number, x0: number, y0: number): Ink {
  const v = new Float32Array(W * H);
  for (let y = 0; y < a.H; y++) for (let x = 0; x < a.W; x++) v[(y + y0) * W + x + x0] = a.v[y * a.W + x];
  return { v, W, H };
}

interface Paper {
  /** Level of the paper. @default 255 */
  paper?: number;
  /** Level of full ink. @default 0 */
  ink?: number;
  /** Standard deviation of grey noise added everywhere. @default 0 */
  noise?: number;
}

/** Prints ink onto paper: a grey raster, paper where ink is 0, `ink` where it is 255. */
function print(a: Ink, opts: Paper = {}, rand: () => number = Math.random): Raster {
  const paper = opts.paper ?? 255;
  const ink = opts.ink ?? 0;
  const noise = opts.noise ?? 0;
  const data = new Uint8ClampedArray(a.W * a.H);
  const k = (ink - paper) / 255;
  for (let i = 0; i < a.v.length; i++) {
    // Box-Muller for the noise.
    const n = noise ? noise * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) : 0;
    data[i] = Math.round(paper + k * a.v[i] + n);
  }
  return { width: a.W, height: a.H, channels: 1, data };
}

export type Variant = { name: string; what: string; make: (digit: Uint8Array, rand: () => number) => Raster };

export const digitInk = (d: Uint8Array): Ink => ({ v: Float32Array.from(d), W: 28, H: 28 });

/** The variants of the robustness set. */
export const VARIANTS: Variant[] = [
  { name: "upscaled", what: "280×280, bilinear, dark on white", make: (d) => print(resize(digitInk(d), 280, 280)) },
  {
    name: "off-centre",
    what: "112×112 at a random place on 400×300 white",
    make: (d, r) => print(place(resize(digitInk(d), 112, 112), 400, 300, Math.floor(r() * 288), Math.floor(r() * 188))),
  },
  {
    name: "rotated",
    what: "280×280 turned 10–20° either way",
    make: (d, r) => print(rotate(resize(digitInk(d), 280, 280), (r() < 0.5 ? -1 : 1) * (10 + 10 * r()))),
  },
  { name: "thicker", what: "strokes +1 px (of 28) wide, then 280×280", make: (d) => print(resize(thickness(resize(digitInk(d), 56, 56), "dilate"), 280, 280)) },
  { name: "thinner", what: "strokes −1 px (of 28) wide, then 280×280", make: (d) => print(resize(thickness(resize(digitInk(d), 56, 56), "erode"), 280, 280)) },
  { name: "inverted", what: "280×280, white on black", make: (d) => print(resize(digitInk(d), 280, 280), { paper: 0, ink: 255 }) },
  {
    name: "scanned",
    what: "280×280 on grey paper (220), ink 50, noise σ 6",
    make: (d, r) => print(resize(digitInk(d), 280, 280), { paper: 220, ink: 50, noise: 6 }, r),
  },
];
