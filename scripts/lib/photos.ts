// Phone photos of handwriting, made from MNIST test digits: paper of some
// colour under uneven light (gradient, vignette, soft shadow), perhaps ruled
// or squared, the digit (or a whole number) written on it in some ink and
// pen width, then sensor noise, blur and JPEG, at sizes up to 12 MP, some
// stored sideways with an EXIF Orientation. Blank photos are the same paper
// with nothing written. Deterministic: every draw comes from the `rand`
// passed in (src/nn/random.ts's rng, seeded by the caller).
// Shapes: W, H = the photo's width and height.
import { encode as encodeJpeg } from "jpeg-js";
import { inverseOrientation, orientRaster } from "../../src/image/decode";
import { type Raster, toRgba } from "../../src/image/raster";
import { digitInk, type Ink, resize, sample } from "./robustness-set";

type Rgb = [number, number, number];

/** How a photo is taken. Every field has a plain default (white paper, even light, black ink). */
export interface Scene {
  W: number;
  H: number;
  paper: Rgb;
  ink: Rgb;
  /** Light falling linearly by this share across the picture, in direction `angle` (radians). */
  gradient: number;
  angle: number;
  /** Light falling by this share at the corners, quadratically from the centre. */
  vignette: number;
  /** A soft shadow over one side of a line: its depth (share of light), the line (a point and angle) and its edge's softness (share of the short side). */
  shadow: number;
  shadowAt: [number, number, number];
  softness: number;
  /** Ruled lines every `rule` pixels (0 = none); squared when `grid`. */
  rule: number;
  grid: boolean;
  lineColour: Rgb;
  /** Pen width: the level (0-255) of the bilinearly enlarged digit where the stroke's edge is; lower is wider. */
  pen: number;
  /** Sensor noise, standard deviation in levels. */
  noise: number;
  /** 3×3 box blurs applied (0 = sharp). */
  blur: number;
  /** Writing turned by this many degrees (anticlockwise). */
  tilt: number;
  /** Height of the writing as a share of the photo's short side. */
  size: number;
  quality: number;
  /** EXIF Orientation the photo is stored with (1 = upright). */
  orientation: number;
}

export const PAPERS: Record<string, Rgb> = {
  white: [246, 245, 240],
  cream: [250, 240, 200],
  blue: [222, 234, 250],
  grey: [205, 205, 200],
  pink: [250, 226, 228],
};
export const INKS: Record<string, Rgb> = { black: [28, 28, 34], blue: [25, 45, 160], ballpoint: [45, 55, 125] };

/** An ordinary phone photo: white paper, a mild gradient, a little noise, JPEG 85, 800 × 600. */
export function baseScene(rand: () => number): Scene {
  return {
    W: 800,
    H: 600,
    paper: PAPERS.white,
    ink: INKS.black,
    gradient: 0.1 + 0.1 * rand(),
    angle: 2 * Math.PI * rand(),
    vignette: 0,
    shadow: 0,
    shadowAt: [0, 0, 0],
    softness: 0.05,
    rule: 0,
    grid: false,
    lineColour: [150, 180, 230],
    pen: 110,
    noise: 3,
    blur: 0,
    tilt: 0,
    size: 0.35 + 0.25 * rand(),
    quality: 85,
    orientation: 1,
  };
}

/**
 * The writing's ink (ink-high, 0-255) turned and scaled onto a W × H field,
 * its height `size` of the short side (at most 85% of the width), at a random place that keeps it inside.
 */
function placeInk(a: Ink, s: Scene, rand: () => number): Ink {
  // A wide number is fitted to 85% of the width instead.
  const k = Math.min((s.size * Math.min(s.W, s.H)) / a.H, (0.85 * s.W) / a.W);
  const h = a.H * k;
  const w = a.W * k;
  const t = (s.tilt * Math.PI) / 180;
  const c = Math.cos(t);
  const sn = Math.sin(t);
  // The turned box's extent, to keep the writing inside with a margin.
  const bw = Math.abs(w * c) + Math.abs(h * sn);
  const bh = Math.abs(w * sn) + Math.abs(h * c);
  const cx = bw / 2 + 0.05 * s.W + rand() * Math.max(0, 0.9 * s.W - bw);
  const cy = bh / 2 + 0.05 * s.H + rand() * Math.max(0, 0.9 * s.H - bh);
  const v = new Float32Array(s.W * s.H);
  const x0 = Math.max(0, Math.floor(cx - bw / 2) - 2);
  const x1 = Math.min(s.W, Math.ceil(cx + bw / 2) + 2);
  const y0 = Math.max(0, Math.floor(cy - bh / 2) - 2);
  const y1 = Math.min(s.H, Math.ceil(cy + bh / 2) + 2);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const dx = x - cx;
      const dy = y - cy;
      // Into the ink's own pixels: unturn, unscale.
      const u = (c * dx - sn * dy) / k + (a.W - 1) / 2;
      const q = (sn * dx + c * dy) / k + (a.H - 1) / 2;
      v[y * s.W + x] = sample(a, u, q);
    }
  return { v, W: s.W, H: s.H };
}

/** Light at (x, y), 1 = full: gradient × vignette × shadow. */
function lightAt(s: Scene, x: number, y: number): number {
  const u = x / s.W - 0.5;
  const v = y / s.H - 0.5;
  let l = 1 - s.gradient * (0.5 + u * Math.cos(s.angle) + v * Math.sin(s.angle));
  if (s.vignette) l *= 1 - s.vignette * 2 * (u * u + v * v);
  if (s.shadow) {
    const [px, py, a] = s.shadowAt;
    const d = ((x - px * s.W) * Math.cos(a) + (y - py * s.H) * Math.sin(a)) / (s.softness * Math.min(s.W, s.H));
    l *= 1 - s.shadow / (1 + Math.exp(-d));
  }
  return l;
}

/** Gaussian-ish noise of standard deviation 1 (sum of three uniforms): cheap enough for 12 MP. */
const gauss = (rand: () => number) => (rand() + rand() + rand() - 1.5) * 2;

/** The photo as RGB pixels: paper, lines, ink, light, noise, blur. */
export function render(ink: Ink | null, s: Scene, rand: () => number): Raster {
  const { W, H } = s;
  const data = new Uint8Array(W * H * 3);
  const lineW = Math.max(1, Math.round(Math.min(W, H) / 400));
  const onLine = (p: number) => s.rule > 0 && p % s.rule < lineW;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const la = onLine(y) || (s.grid && onLine(x)) ? 0.7 : 0;
      const a = ink ? Math.min(1, Math.max(0, (ink.v[i] - s.pen) / 60 + 0.5)) : 0;
      const l = lightAt(s, x, y);
      for (let c = 0; c < 3; c++) {
        let p = s.paper[c];
        if (la) p *= 1 - la * (1 - s.lineColour[c] / 255);
        if (a) p *= 1 - a * (1 - s.ink[c] / 255);
        data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(p * l + (s.noise ? s.noise * gauss(rand) : 0))));
      }
    }
  let img: Raster = { width: W, height: H, channels: 3, data };
  for (let b = 0; b < s.blur; b++) img = boxBlur(img);
  return img;
}

function boxBlur(img: Raster): Raster {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const X = x + dx;
            const Y = y + dy;
            if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
            sum += data[(Y * W + X) * 3 + c];
            n++;
          }
        out[(y * W + x) * 3 + c] = Math.round(sum / n);
      }
  return { width: W, height: H, channels: 3, data: out };
}

/** An APP1 EXIF segment holding only an Orientation tag, big-endian TIFF. */
export function exifSegment(orientation: number): Uint8Array {
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const len = body.length + 2;
  return Uint8Array.from([0xff, 0xe1, len >> 8, len & 255, ...body]);
}

/**
 * The photo as a JPEG file: stored turned by the inverse of its orientation,
 * with an EXIF Orientation saying how to turn it back, as a phone does.
 */
export function toJpeg(img: Raster, quality: number, orientation = 1): Uint8Array {
  const stored = orientRaster(img, inverseOrientation(orientation));
  const jpeg = new Uint8Array(encodeJpeg({ width: stored.width, height: stored.height, data: toRgba(stored) }, quality).data);
  if (orientation === 1) return jpeg;
  const app1 = exifSegment(orientation);
  const out = new Uint8Array(jpeg.length + app1.length);
  out.set(jpeg.subarray(0, 2));
  out.set(app1, 2);
  out.set(jpeg.subarray(2), 2 + app1.length);
  return out;
}

/** A photo of `writing` (ink-high, any size; null for blank paper) as a JPEG file. */
export function photograph(writing: Ink | null, s: Scene, rand: () => number): Uint8Array {
  const ink = writing ? placeInk(writing, s, rand) : null;
  return toJpeg(render(ink, s, rand), s.quality, s.orientation);
}

/** One kind of photo: what changes from the ordinary phone photo (baseScene). */
export interface PhotoVariant {
  name: string;
  what: string;
  scene: (rand: () => number) => Scene;
}

const pick = <T>(xs: T[], rand: () => number): T => xs[Math.floor(rand() * xs.length)];
const scene = (rand: () => number, change: (s: Scene) => void): Scene => {
  const s = baseScene(rand);
  change(s);
  return s;
};

/** Uneven light and paper, without the writing: the blank photos use these too. */
export const PAPER_VARIANTS: PhotoVariant[] = [
  {
    name: "gradient",
    what: "light falling 30-55% across",
    scene: (r) =>
      scene(r, (s) => {
        s.gradient = 0.3 + 0.25 * r();
      }),
  },
  {
    name: "vignette",
    what: "corners 30-50% darker",
    scene: (r) =>
      scene(r, (s) => {
        s.vignette = 0.3 + 0.2 * r();
      }),
  },
  {
    name: "shadow",
    what: "a soft shadow 30-50% deep over part of the page",
    scene: (r) =>
      scene(r, (s) => {
        s.shadow = 0.3 + 0.2 * r();
        s.shadowAt = [0.2 + 0.6 * r(), 0.2 + 0.6 * r(), 2 * Math.PI * r()];
        s.softness = 0.04 + 0.06 * r();
      }),
  },
  {
    name: "ruled",
    what: "light blue ruled lines, 12-18 a page",
    scene: (r) =>
      scene(r, (s) => {
        s.rule = Math.round(s.H / (12 + 6 * r()));
      }),
  },
  {
    name: "grid",
    what: "squared paper, 16-24 squares a page",
    scene: (r) =>
      scene(r, (s) => {
        s.rule = Math.round(s.H / (16 + 8 * r()));
        s.grid = true;
        s.lineColour = [165, 185, 205];
      }),
  },
  {
    name: "tinted",
    what: "cream, blue, grey or pink paper",
    scene: (r) =>
      scene(r, (s) => {
        s.paper = PAPERS[pick(["cream", "blue", "grey", "pink"], r)];
      }),
  },
  {
    name: "noisy",
    what: "sensor noise σ 10",
    scene: (r) =>
      scene(r, (s) => {
        s.noise = 10;
      }),
  },
  {
    name: "everything",
    what: "gradient, vignette, shadow, ruled, tinted, noise σ 6, JPEG 70",
    scene: (r) =>
      scene(r, (s) => {
        s.gradient = 0.3 * r();
        s.vignette = 0.3 * r();
        s.shadow = 0.3 * r();
        s.shadowAt = [r(), r(), 2 * Math.PI * r()];
        s.rule = r() < 0.5 ? Math.round(s.H / 14) : 0;
        s.grid = r() < 0.3;
        s.paper = PAPERS[pick(Object.keys(PAPERS), r)];
        s.ink = INKS[pick(Object.keys(INKS), r)];
        s.noise = 6;
        s.quality = 70;
      }),
  },
];

/** The photo variants of the robustness set. */
export const PHOTO_VARIANTS: PhotoVariant[] = [
  ...PAPER_VARIANTS,
  {
    name: "blue ink",
    what: "blue or ballpoint ink",
    scene: (r) =>
      scene(r, (s) => {
        s.ink = INKS[pick(["blue", "ballpoint"], r)];
      }),
  },
  {
    name: "thin pen",
    what: "strokes about half as wide",
    scene: (r) =>
      scene(r, (s) => {
        s.pen = 185;
      }),
  },
  {
    name: "thick pen",
    what: "strokes about half as wide again",
    scene: (r) =>
      scene(r, (s) => {
        s.pen = 45;
      }),
  },
  {
    name: "tilt",
    what: "writing turned 10-20° either way",
    scene: (r) =>
      scene(r, (s) => {
        s.tilt = (r() < 0.5 ? -1 : 1) * (10 + 10 * r());
      }),
  },
  {
    name: "blur",
    what: "out of focus: three 3×3 box blurs",
    scene: (r) =>
      scene(r, (s) => {
        s.blur = 3;
      }),
  },
  {
    name: "jpeg 40",
    what: "JPEG quality 40",
    scene: (r) =>
      scene(r, (s) => {
        s.quality = 40;
      }),
  },
  {
    name: "small",
    what: "320 × 240, the digit a third of it",
    scene: (r) =>
      scene(r, (s) => {
        s.W = 320;
        s.H = 240;
      }),
  },
  {
    name: "12 MP",
    what: "4032 × 3024 phone photo, gradient and noise",
    scene: (r) =>
      scene(r, (s) => {
        s.W = 4032;
        s.H = 3024;
        s.gradient = 0.3 * r();
        s.noise = 4;
      }),
  },
  {
    name: "EXIF-rotated",
    what: "stored sideways or mirrored, EXIF Orientation 2-8",
    scene: (r) =>
      scene(r, (s) => {
        s.orientation = 2 + Math.floor(7 * r());
      }),
  },
];

/** A number written from MNIST test digits: the ink (ink-high) and what it says. */
export interface Number_ {
  ink: Ink;
  text: string;
}

/**
 * Digits written in a row: each MNIST digit's tight box enlarged to about
 * `height` pixels (size jitter ±15%), its baseline jittered by ±8% of the
 * height, the gaps between boxes 12-45% of the height.
 * digits are (28, 28) bytes each; labels their labels.
 */
export function composeNumber(digits: Uint8Array[], labels: number[], rand: () => number, height = 64): Number_ {
  const parts = digits.map((d) => {
    const a = digitInk(d);
    let [x0, y0, x1, y1] = [28, 28, -1, -1];
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++)
        if (a.v[y * 28 + x] > 0) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
    const crop: Ink = { v: new Float32Array((x1 - x0 + 1) * (y1 - y0 + 1)), W: x1 - x0 + 1, H: y1 - y0 + 1 };
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) crop.v[(y - y0) * crop.W + x - x0] = a.v[y * 28 + x];
    const h = height * (0.85 + 0.3 * rand());
    const k = h / crop.H;
    return { ink: resize(crop, Math.max(1, Math.round(crop.W * k)), Math.max(1, Math.round(h))), dy: Math.round(height * 0.08 * (2 * rand() - 1)) };
  });
  const gaps = parts.map(() => Math.round(height * (0.12 + 0.33 * rand())));
  const margin = Math.round(height * 0.5);
  const W = margin * 2 + parts.reduce((s, p, i) => s + p.ink.W + (i ? gaps[i] : 0), 0);
  const H = margin * 2 + Math.round(height * 1.35);
  const v = new Float32Array(W * H);
  let x = margin;
  parts.forEach((p, i) => {
    if (i) x += gaps[i];
    // Bottoms on a common baseline, then jittered.
    const top = margin + Math.round(height * 1.15) - p.ink.H + p.dy;
    for (let yy = 0; yy < p.ink.H; yy++)
      for (let xx = 0; xx < p.ink.W; xx++) {
        const o = (top + yy) * W + x + xx;
        if (top + yy >= 0 && top + yy < H) v[o] = Math.max(v[o], p.ink.v[yy * p.ink.W + xx]);
      }
    x += p.ink.W;
  });
  return { ink: { v, W, H }, text: labels.join("") };
}

/** A number drawn: dark ink on white, as the page's pad or a scan gives it (grey). */
export function drawNumber(n: Number_): Raster {
  return { width: n.ink.W, height: n.ink.H, channels: 1, data: Uint8ClampedArray.from(n.ink.v, (x) => 255 - x) };
}
