// Any picture of a digit into MNIST's format, by MNIST's own recipe: the
// ink's bounding box is fitted into 20×20 pixels (aspect kept, anti-aliased)
// and placed in a 28×28 field so that its centre of mass sits at the centre.
// Shapes: H, W = the picture's height and width; h, w = the ink's box;
// nh, nw = the box after fitting; S = the field's side (28).
import { ImageError, type Raster } from "./raster";
import { components, keepDigits } from "./components";

export interface MnistOptions {
  /** Side of the square field. @default 28 */
  size?: number;
  /** Side of the square the ink's bounding box is fitted into. @default 20 */
  box?: number;
  /**
   * What lands on the field's centre: the ink's centre of mass (MNIST), or
   * the middle of its box (Fashion-MNIST, with box = size). @default "mass"
   */
  centre?: "mass" | "box";
}

/**
 * The recipe a model's training data was made by, from its metadata
 * `dataset`: Fashion-MNIST filled its field and centred the box; digits have
 * MNIST's (box 20 of 28, centred by mass). The page and the service both ask here.
 */
export function recipeFor(dataset: string | undefined, side = 28): MnistOptions {
  return dataset === "fashion" ? { size: side, box: side, centre: "box" } : { size: side, box: Math.round((side * 20) / 28) };
}

export interface MnistImage {
  /** size × size bytes, row-major: 0 = background, 255 = full ink. */
  pixels: Uint8Array;
  /** True when the picture was dark ink on a light ground (and so was inverted). */
  inverted: boolean;
}

/** Background and ink closer than this many grey levels is a blank picture. */
const MIN_CONTRAST = 32;

/**
 * Ink under a tenth of full strength is background: JPEG's ringing around
 * strokes and a scan's smudges would otherwise widen the ink's box and
 * shrink the digit (it lifted JPEG off-centre digits on the robustness set;
 * README "Pictures" has the figures; MNIST's own digits keep their labels).
 */
const FAINT = 25.5;

/**
 * Grey levels of a picture composited on white.
 * img is (H, W, channels); out is (H, W) in [0, 255], luma 0.299 R + 0.587 G + 0.114 B.
 */
export function grey(img: Raster): Float32Array {
  const { width: W, height: H, channels: ch, data: d } = img;
  const out = new Float32Array(W * H);
  // One loop per layout: this runs over every pixel of pictures of millions.
  if (ch === 1) for (let i = 0; i < out.length; i++) out[i] = d[i];
  else if (ch === 2) for (let i = 0, p = 0; i < out.length; i++, p += 2) out[i] = 255 - (d[p + 1] * (255 - d[p])) / 255;
  else if (ch === 3) for (let i = 0, p = 0; i < out.length; i++, p += 3) out[i] = 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2];
  else {
    for (let i = 0, p = 0; i < out.length; i++, p += 4) {
      // y·a + 255·(1 − a) with a in [0, 1]: on white, ink shows by its alpha.
      const y = 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2];
      out[i] = 255 - (d[p + 3] * (255 - y)) / 255;
    }
  }
  return out;
}

/** Alpha of each pixel, (H, W) in [0, 255]; null when the picture has no alpha channel. */
function alpha(img: Raster): Float32Array | null {
  const ch = img.channels;
  if (ch !== 2 && ch !== 4) return null;
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i * ch + ch - 1];
  return out;
}

/** The values of the outermost ring of pixels, where a picture shows its ground. */
function border(g: Float32Array, W: number, H: number): Float32Array {
  if (W <= 2 || H <= 2) return g.slice();
  const out = new Float32Array(2 * W + 2 * (H - 2));
  let k = 0;
  for (let x = 0; x < W; x++) {
    out[k++] = g[x];
    out[k++] = g[(H - 1) * W + x];
  }
  for (let y = 1; y < H - 1; y++) {
    out[k++] = g[y * W];
    out[k++] = g[y * W + W - 1];
  }
  return out;
}

function median(v: Float32Array): number {
  const s = Float32Array.from(v).sort();
  return s[s.length >> 1];
}

function extent(g: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < g.length; i++) {
    const v = g[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A picture turned ink-high, before its levels are stretched. */
interface Oriented {
  /** (H, W) grey levels, ink high. */
  v: Float32Array;
  inverted: boolean;
  /** Level of the ground (median of the border), ink high. */
  ground: number;
  /** Strongest ink. */
  peak: number;
  /** Median deviation of the border from the ground: the ground's noise. */
  noise: number;
  /** The border's spread (97th less 3rd percentile): large under uneven light. */
  spread: number;
}

/**
 * Turns a picture ink-high. The ground is the median of the border; the ink
 * is whichever side of it reaches further, so dark-on-light and light-on-dark
 * both work, and a grey ground is no trap.
 */
function orient(img: Raster): Oriented {
  const { width: W, height: H } = img;
  let g = grey(img);
  let [lo, hi] = extent(g);
  // Light strokes on a transparent ground vanish on white; their alpha still draws them.
  const a = hi - lo < MIN_CONTRAST ? alpha(img) : null;
  if (a) {
    const [alo, ahi] = extent(a);
    if (ahi - alo >= MIN_CONTRAST) {
      g = a.map((x) => 255 - x);
      [lo, hi] = [255 - ahi, 255 - alo];
    }
  }
  const ring = border(g, W, H).sort();
  const ground = ring[ring.length >> 1];
  const noise = median(ring.map((x) => Math.abs(x - ground)));
  const spread = ring[Math.floor(ring.length * 0.97)] - ring[Math.floor(ring.length * 0.03)];
  const inverted = ground - lo > hi - ground || (ground - lo === hi - ground && ground > 127);
  if (!inverted) return { v: g, inverted, ground, peak: hi, noise, spread };
  for (let i = 0; i < g.length; i++) g[i] = 255 - g[i];
  return { v: g, inverted, ground: 255 - ground, peak: 255 - lo, noise, spread };
}

/**
 * A border that varies more than this many grey levels (97th less 3rd
 * percentile) is uneven light: a photo, whose paper is estimated everywhere
 * (background()) rather than taken as one level. A shadow over a corner
 * still covers 3% of the border; sensor noise of σ 6 spreads a flat border by about 22.
 */
const UNEVEN = 24;

/**
 * In a photo, the strongest ink must be at least this much darker than the
 * paper around it, relative to the paper's light (64 of 255: a quarter). A
 * shadow's soft edge, paper texture and JPEG's blocks stay below it; pen and
 * pencil strokes are above (a pencil's light stroke near the limit may not).
 */
const PHOTO_MIN_INK = 64;

/** The percentile of a row (or column) taken as a ruled line running through it. */
const LINE_PERCENTILE = 0.1;

/**
 * The paper's level at each pixel of v (H, W), ink high: a morphological
 * opening (ink removed by a minimum, the paper's shape restored by a
 * maximum) over a window of a quarter of the picture's short side, on a grid
 * of cells about 1/96 of the long side, each cell its 25th percentile (robust
 * to noise, unlike its minimum), then smoothed and interpolated back.
 * Cost: one pass over the pixels plus a few over ~9000 cells.
 */
export function background(v: Float32Array, W: number, H: number): Float32Array {
  const s = Math.max(2, Math.ceil(Math.max(W, H) / 96));
  const gw = Math.ceil(W / s);
  const gh = Math.ceil(H / s);
  // The 25th percentile of each cell, by a histogram of whole levels.
  const cells = new Float32Array(gw * gh);
  const hist = new Uint32Array(256 * gw);
  for (let cy = 0; cy < gh; cy++) {
    hist.fill(0);
    const y1 = Math.min(H, (cy + 1) * s);
    for (let y = cy * s; y < y1; y++) {
      const o = y * W;
      for (let x = 0; x < W; x++) {
        const q = v[o + x];
        hist[((x / s) | 0) * 256 + (q <= 0 ? 0 : q >= 255 ? 255 : q | 0)]++;
      }
    }
    for (let cx = 0; cx < gw; cx++) {
      const n = (Math.min(W, (cx + 1) * s) - cx * s) * (y1 - cy * s);
      let want = Math.ceil(n / 4);
      let l = 0;
      for (const h = cx * 256; l < 255; l++) {
        want -= hist[h + l];
        if (want <= 0) break;
      }
      cells[cy * gw + cx] = l;
    }
  }
  const R = Math.max(1, Math.round(Math.min(W, H) / (8 * s)));
  // The grid is padded by R cells reflected through its edge cells (2·edge −
  // inside), which continues a slope: light falling towards the edge is then
  // no peak for the opening to cut off.
  const pw = gw + 2 * R;
  const ph = gh + 2 * R;
  const padded = new Float32Array(pw * ph);
  const at = (i: number, n: number): [number, number] => (i < 0 ? [0, -i] : i >= n ? [n - 1, 2 * (n - 1) - i] : [i, i]);
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) {
      const [ey, iy] = at(y - R, gh);
      const [ex, ix] = at(x - R, gw);
      const cy = Math.min(gh - 1, Math.max(0, iy));
      const cx = Math.min(gw - 1, Math.max(0, ix));
      // Reflected through the edge cell in each direction that is outside.
      padded[y * pw + x] = 2 * cells[ey * gw + ex] - cells[cy * gw + cx];
    }
  const openedPadded = filter(filter(padded, pw, ph, R, Math.min), pw, ph, R, Math.max);
  const opened = new Float32Array(gw * gh);
  for (let y = 0; y < gh; y++) for (let x = 0; x < gw; x++) opened[y * gw + x] = openedPadded[(y + R) * pw + x + R];
  const smooth = filter(opened, gw, gh, 1, (a, b) => a + b, true);
  // Bilinear between cell centres.
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(gh - 1, Math.max(0, (y + 0.5) / s - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(gw - 1, Math.max(0, (x + 0.5) / s - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const tx = fx - x0;
      const top = smooth[y0 * gw + x0] * (1 - tx) + smooth[y0 * gw + x1] * tx;
      const bottom = smooth[y1 * gw + x0] * (1 - tx) + smooth[y1 * gw + x1] * tx;
      out[y * W + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/**
 * A separable square filter of radius r over a (h, w) grid: min, max, or
 * (mean = true) the mean of the values summed by op. Edges use what is inside.
 */
function filter(a: Float32Array, w: number, h: number, r: number, op: (a: number, b: number) => number, mean = false): Float32Array {
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let acc = src[y * w + x];
        let n = 1;
        for (let d = -r; d <= r; d++) {
          if (d === 0) continue;
          const X = horizontal ? x + d : x;
          const Y = horizontal ? y : y + d;
          if (X < 0 || Y < 0 || X >= w || Y >= h) continue;
          acc = op(acc, src[Y * w + X]);
          n++;
        }
        out[y * w + x] = mean ? acc / n : acc;
      }
    return out;
  };
  return pass(pass(a, true), false);
}

/**
 * Takes out faint lines that run the whole width or height, as ruled and
 * grid paper have: each row loses its 10th percentile, then each column its
 * own, so only something under 90% of a row (every digit) survives whole.
 * Lines must run along the rows (a page photographed square, within a pixel
 * or two); a page turned by a degree or more keeps its lines.
 */
function removeLines(r: Float32Array, W: number, H: number): void {
  const hist = new Uint32Array(257);
  const level = (n: number, at: (i: number) => number): number => {
    hist.fill(0);
    for (let i = 0; i < n; i++) hist[Math.min(256, at(i) | 0)]++;
    let want = Math.floor(n * LINE_PERCENTILE);
    for (let l = 0; l <= 256; l++) {
      want -= hist[l];
      if (want < 0) return l;
    }
    return 0;
  };
  for (let y = 0; y < H; y++) {
    const o = y * W;
    const p = level(W, (i) => r[o + i]);
    if (p > 0) for (let x = 0; x < W; x++) r[o + x] = Math.max(0, r[o + x] - p);
  }
  for (let x = 0; x < W; x++) {
    const p = level(H, (i) => r[i * W + x]);
    if (p > 0) for (let y = 0; y < H; y++) r[y * W + x] = Math.max(0, r[y * W + x] - p);
  }
}

/**
 * In a photo, ink touching the picture's edge is not writing when there is
 * writing inside: it is the rest of a shadow, the desk or a finger, or what
 * the light's estimate cannot follow at the edge. The pieces above `level`
 * that touch the edge are zeroed, unless they are all there is (a digit
 * cropped tightly, which a blank photo's edge rarely passes for: its pieces
 * are faint, and the blank test follows).
 */
function dropEdges(v: Float32Array, W: number, H: number, level: number): void {
  const above = v.map((x) => (x > level ? x : 0));
  const { labels, pieces } = components(above, W, H);
  const edge = new Uint8Array(pieces.length);
  for (const p of pieces) if (p.x0 === 0 || p.y0 === 0 || p.x1 === W - 1 || p.y1 === H - 1) edge[p.id] = 1;
  // Inside pieces of more than a speck's ink: writing.
  const heaviest = pieces.reduce((m, p) => Math.max(m, p.mass), 0);
  if (!pieces.some((p) => !edge[p.id] && p.mass >= 0.03 * heaviest)) return;
  for (let i = 0; i < v.length; i++) if (labels[i] >= 0 && edge[labels[i]]) v[i] = 0;
}

/** Median and median absolute deviation of every k-th value of v: the paper's level and noise. */
function robustLevel(v: Float32Array, k: number): [number, number] {
  const sample = new Float32Array(Math.ceil(v.length / k));
  for (let i = 0, j = 0; i < v.length; i += k, j++) sample[j] = v[i];
  const m = median(sample);
  return [m, median(sample.map((x) => Math.abs(x - m)))];
}

/** Ink levels of a picture, ink high, with what was learnt on the way. */
export interface InkPlane {
  /** (H, W) levels in [0, 255]: 0 = paper, 255 = the strongest ink. */
  ink: Float32Array;
  /** True when the picture was dark ink on a light ground (and so was inverted). */
  inverted: boolean;
  /** True when the light was uneven, and the paper was estimated everywhere. */
  photo: boolean;
}

/**
 * Ink levels (H, W) in [0, 255] of a picture, ink high.
 * The paper: one level (the border's median) when the border is even, as in
 * a drawing or a scan; under uneven light (a photo's gradient, vignette or
 * shadow) it is estimated at every pixel (background()), and ink is taken
 * relative to the paper's light there, so a stroke in shadow is as dark as
 * one in the light. Faint lines along the rows and columns (ruled or grid
 * paper) are taken out. Then the levels are stretched so the paper plus its
 * noise (eight median deviations, over five standard deviations of Gaussian
 * noise) is 0 and the strongest ink 255, and faint ink is dropped: a scan's
 * grey paper and JPEG speckle become background.
 * Throws ImageError (blank) when ink and paper are too close to tell apart.
 */
export function ink(img: Raster): InkPlane {
  const { width: W, height: H } = img;
  const o = orient(img);
  const { v, inverted } = o;
  const photo = o.spread > UNEVEN && W >= 16 && H >= 16;
  const bg = photo ? background(v, W, H) : null;
  // Ink relative to the paper's light: (v − paper) / (255 − paper) of full
  // ink, the paper's light being 255 − paper (ink high). Darker paper (less
  // light) gives the same ink a larger share; never more than four times.
  for (let i = 0; i < v.length; i++) {
    const p = bg ? bg[i] : o.ground;
    v[i] = v[i] <= p ? 0 : ((v[i] - p) * 255) / Math.max(64, 255 - p);
  }
  removeLines(v, W, H);
  const k = 255 / Math.max(64, 255 - o.ground);
  const [level, noise] = photo ? robustLevel(v, Math.max(1, Math.floor(v.length / 20000))) : [0, o.noise * k];
  if (photo) dropEdges(v, W, H, level + 8 * noise);
  const [, peak] = extent(v);
  const black = Math.min(level + 8 * noise, peak);
  if (peak - black < MIN_CONTRAST * k || (photo && peak < PHOTO_MIN_INK)) throw blank();
  const s = 255 / (peak - black);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] <= black ? 0 : Math.min(255, (v[i] - black) * s);
    v[i] = x < FAINT ? 0 : x;
  }
  return { ink: v, inverted, photo };
}

function blank(): ImageError {
  return new ImageError("the image is blank: draw or send a digit", "blank");
}

/** The smallest box [x0, y0, w, h] holding every pixel with ink. */
export function boundingBox(v: Float32Array, W: number, H: number): [number, number, number, number] {
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (v[y * W + x] > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) throw blank();
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/**
 * Which source pixels make each of n target pixels when `len` source pixels
 * from `from` are squeezed (or stretched) into n: target j covers the source
 * interval [from + j·len/n, from + (j+1)·len/n), each source pixel weighted by
 * the part of it inside, so the weights of each target sum to 1.
 */
function areaWeights(from: number, len: number, n: number): { src: number[]; w: number[] }[] {
  const step = len / n;
  return Array.from({ length: n }, (_, j) => {
    const a = from + j * step;
    const b = from + (j + 1) * step;
    const src: number[] = [];
    const w: number[] = [];
    for (let s = Math.floor(a); s < b; s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      if (cover > 1e-9) {
        src.push(s);
        w.push(cover / step);
      }
    }
    return { src, w };
  });
}

/**
 * Area-average (box filter) resampling of the box [x0, y0, w, h] of v (H, W)
 * into (nh, nw): each output pixel is the mean of the input area it covers,
 * which anti-aliases when shrinking and is exact at scale 1.
 */
export function resampleArea(v: Float32Array, W: number, box: [number, number, number, number], nw: number, nh: number): Float32Array {
  const [x0, y0, w, h] = box;
  const cols = areaWeights(x0, w, nw);
  const rows = areaWeights(y0, h, nh);
  // Rows first: t is (h, nw), then columns: out is (nh, nw).
  const t = new Float32Array(h * nw);
  for (let y = 0; y < h; y++) {
    const o = (y0 + y) * W;
    for (let j = 0; j < nw; j++) {
      const { src, w: wt } = cols[j];
      let s = 0;
      for (let k = 0; k < src.length; k++) s += v[o + src[k]] * wt[k];
      t[y * nw + j] = s;
    }
  }
  const out = new Float32Array(nh * nw);
  for (let i = 0; i < nh; i++) {
    const { src, w: wt } = rows[i];
    for (let j = 0; j < nw; j++) {
      let s = 0;
      for (let k = 0; k < src.length; k++) s += t[(src[k] - y0) * nw + j] * wt[k];
      out[i * nw + j] = s;
    }
  }
  return out;
}

/** Centre of mass [x, y] of v (h, w), in pixel indices. */
export function centreOfMass(v: ArrayLike<number>, w: number, h: number): [number, number] {
  let m = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = v[y * w + x];
      m += p;
      mx += p * x;
      my += p * y;
    }
  }
  return m > 0 ? [mx / m, my / m] : [(w - 1) / 2, (h - 1) / 2];
}

/**
 * The ink in box [x0, y0, w, h] of v (H, W) as MNIST would have made it:
 * out is (size, size) bytes. The box's longer side becomes `box` pixels, the
 * shorter keeps the aspect; the centre of mass lands on pixel (size/2,
 * size/2), as in MNIST (whose digits' mean centre of mass is at index 14.0 of
 * 0..27). Ink pushed past the edge by an off-centre mass is cut, as MNIST's was.
 */
export function fitBox(v: Float32Array, W: number, box: [number, number, number, number], opts: MnistOptions = {}): Uint8Array {
  const S = opts.size ?? 28;
  const B = opts.box ?? 20;
  const [, , w, h] = box;
  const s = B / Math.max(w, h);
  const nw = Math.max(1, Math.min(B, Math.round(w * s)));
  const nh = Math.max(1, Math.min(B, Math.round(h * s)));
  const small = resampleArea(v, W, box, nw, nh).map((p) => Math.round(p));
  const [cx, cy] = opts.centre === "box" ? [nw / 2, nh / 2] : centreOfMass(small, nw, nh);
  const ox = Math.round(S / 2 - cx);
  const oy = Math.round(S / 2 - cy);
  const pixels = new Uint8Array(S * S);
  for (let y = 0; y < nh; y++) {
    const Y = y + oy;
    if (Y < 0 || Y >= S) continue;
    for (let x = 0; x < nw; x++) {
      const X = x + ox;
      if (X >= 0 && X < S) pixels[Y * S + X] = small[y * nw + x];
    }
  }
  return pixels;
}

/**
 * A picture larger than WORK_SIDE on its long side is first shrunk by a
 * whole factor (area average) to at most this: the recipe ends at 28×28, and
 * the light's estimate and the segmentation cost in proportion to the pixels.
 */
export const WORK_SIDE = 1024;

/** The picture shrunk by a whole factor f so its long side is at most maxSide (f = 1: as it is). */
export function shrink(img: Raster, maxSide = WORK_SIDE): { img: Raster; factor: number } {
  const f = Math.ceil(Math.max(img.width, img.height) / maxSide);
  if (f <= 1) return { img, factor: 1 };
  const { width: W, height: H, channels: ch, data } = img;
  const w = Math.floor(W / f);
  const h = Math.floor(H / f);
  const out = new Uint8Array(w * h * ch);
  const acc = new Float32Array(w * ch);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let j = 0; j < f; j++) {
      const o = (y * f + j) * W * ch;
      for (let x = 0; x < w * f; x++) for (let c = 0; c < ch; c++) acc[((x / f) | 0) * ch + c] += data[o + x * ch + c];
    }
    for (let i = 0; i < w * ch; i++) out[y * w * ch + i] = acc[i] / (f * f) + 0.5;
  }
  return { img: { width: w, height: h, channels: ch, data: out }, factor: f };
}

/**
 * A picture of a digit, any size, as MNIST would have made it.
 * img is (H, W, channels); out is (size, size) bytes, ink high (fitBox()).
 * A photo (uneven light) is normalised first (ink()), and specks apart from
 * the digit are dropped so they do not widen its box (segment.ts's rule).
 * Throws ImageError (blank) when there is no ink.
 *
 * @example
 * const { pixels } = toMnist(ctx.getImageData(0, 0, w, h)); // 784 bytes for the network
 */
export function toMnist(input: Raster, opts: MnistOptions = {}): MnistImage {
  const { img } = shrink(input);
  const W = img.width;
  const { ink: v, inverted, photo } = ink(img);
  if (photo) keepDigits(v, W, img.height);
  const box = boundingBox(v, W, img.height);
  return { pixels: fitBox(v, W, box, opts), inverted };
}

/**
 * A picture already in MNIST's format (size × size), taken as it is: only
 * composited, made grey and turned ink-high. For clients that did the
 * preprocessing themselves.
 * Throws ImageError (wrong-size, blank) when the picture is not size × size or has no ink.
 */
export function asMnist(img: Raster, size = 28): MnistImage {
  if (img.width !== size || img.height !== size)
    throw new ImageError(`the image must be exactly ${size}×${size} pixels; this one is ${img.width}×${img.height}`, "wrong-size");
  const { v, inverted, ground, peak } = orient(img);
  if (peak - ground < MIN_CONTRAST) throw blank();
  return { pixels: Uint8Array.from(v, Math.round), inverted };
}
