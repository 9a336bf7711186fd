// Augmentation that makes MNIST's clean digits look more like drawn and
// scanned ones: rotation, scale, shifts, stroke thickness and elastic
// distortion (Simard, Steinkraus & Platt 2003). Pure and seeded: the same
// parameters give the same image, so a training run stays reproducible.
// Images are S×S bytes, row-major (S = side, 28 for MNIST).

/** How one image is distorted. */
export interface Warp {
  /** Rotation in radians, counter-clockwise about the image centre. */
  angle: number;
  /** Scale about the image centre (1 = unchanged). */
  scale: number;
  /** Translation in pixels, x to the right, y down. */
  dx: number;
  dy: number;
  /** Stroke thickness in [-1, 1]: > 0 blends towards a dilation, < 0 towards an erosion (3×3 cross). */
  thickness: number;
  /** Elastic displacement in pixels, (2, S, S): x displacements then y; null for none. */
  field: Float32Array | null;
}

/** Ranges the trainer draws each image's Warp from. */
export interface AugmentOptions {
  /** Largest rotation in degrees, either way. */
  rotate: number;
  /** Largest relative change of size: scale is drawn from [1 - scale, 1 + scale]. */
  scale: number;
  /** Largest |thickness| (see Warp.thickness). */
  thickness: number;
  /** Simard's α: how far the elastic field moves pixels (0 = off). */
  elastic: number;
  /** Simard's σ: smoothing of the elastic field, in pixels. */
  elasticSigma: number;
  /** Share of images distorted; the rest are only shifted, so clean digits stay in every batch. */
  p: number;
}

/** No distortions: only the trainer's shifts. (p applies once a range is given on the command line.) */
export const NO_DISTORTION: AugmentOptions = { rotate: 0, scale: 0, thickness: 0, elastic: 0, elasticSigma: 5, p: 1 };

/**
 * Drawn and scanned digits: tilted, larger or smaller, bolder or finer,
 * wobblier than MNIST's. One image in five stays clean (shifted only).
 */
export const HANDWRITTEN: AugmentOptions = { rotate: 15, scale: 0.15, thickness: 0.7, elastic: 30, elasticSigma: 5, p: 0.8 };

export const IDENTITY: Warp = { angle: 0, scale: 1, dx: 0, dy: 0, thickness: 0, field: null };

/** True when the options distort anything (shifts alone are the trainer's own). */
export function augments(o: AugmentOptions): boolean {
  return o.p > 0 && (o.rotate > 0 || o.scale > 0 || o.thickness > 0 || o.elastic > 0);
}

/**
 * Grey-level morphology with a 3×3 cross: the max (dilate) or min (erode) of
 * each pixel and its four neighbours, outside the image counting as 0.
 */
export function morph(src: Uint8Array, side: number, op: "dilate" | "erode", out = new Uint8Array(src.length)): Uint8Array {
  const pick = op === "dilate" ? Math.max : Math.min;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = y * side + x;
      const up = y > 0 ? src[i - side] : 0;
      const down = y + 1 < side ? src[i + side] : 0;
      const left = x > 0 ? src[i - 1] : 0;
      const right = x + 1 < side ? src[i + 1] : 0;
      out[i] = pick(src[i], up, down, left, right);
    }
  }
  return out;
}

/** Bilinear sample of img at (u, v); 0 outside. */
function sample(img: Uint8Array, side: number, u: number, v: number): number {
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  const fx = u - x0;
  const fy = v - y0;
  let s = 0;
  for (let j = 0; j < 2; j++) {
    const y = y0 + j;
    if (y < 0 || y >= side) continue;
    const wy = j ? fy : 1 - fy;
    if (wy === 0) continue;
    for (let i = 0; i < 2; i++) {
      const x = x0 + i;
      if (x < 0 || x >= side) continue;
      const wx = i ? fx : 1 - fx;
      if (wx !== 0) s += wx * wy * img[y * side + x];
    }
  }
  return s;
}

/**
 * Distorts one image. Stroke thickness is changed first, then each output
 * pixel p reads the source, bilinearly, at A⁻¹(p + field(p) − shift), where A
 * rotates and scales about the centre: the elastic field moves pixels where
 * they land, as in Simard et al.
 *
 * @example
 * const out = augment(digit, 28, { ...IDENTITY, angle: Math.PI / 12 });
 */
export function augment(src: Uint8Array, side: number, w: Warp, out = new Uint8Array(side * side)): Uint8Array {
  const n = side * side;
  let img = src;
  if (w.thickness !== 0) {
    const t = Math.abs(w.thickness);
    const m = morph(src, side, w.thickness > 0 ? "dilate" : "erode");
    for (let i = 0; i < n; i++) m[i] = Math.round(src[i] + t * (m[i] - src[i]));
    img = m;
  }
  const c = (side - 1) / 2;
  const cos = Math.cos(w.angle) / w.scale;
  const sin = Math.sin(w.angle) / w.scale;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = y * side + x;
      let u = x - w.dx - c;
      let v = y - w.dy - c;
      if (w.field) {
        u += w.field[i];
        v += w.field[n + i];
      }
      // The inverse of a counter-clockwise rotation (y down) by angle, then 1/scale.
      const su = cos * u - sin * v + c;
      const sv = sin * u + cos * v + c;
      const g = sample(img, side, su, sv);
      out[i] = g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
    }
  }
  return out;
}

/** Normalised 1-D Gaussian, truncated at 3σ. */
function gaussian(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable blur of a (S, S) plane, edges clamped. */
function blur(a: Float32Array, side: number, k: Float32Array): Float32Array {
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(a.length);
  const out = new Float32Array(a.length);
  const clamp = (i: number) => (i < 0 ? 0 : i >= side ? side - 1 : i);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      let s = 0;
      for (let j = -r; j <= r; j++) s += k[j + r] * a[y * side + clamp(x + j)];
      tmp[y * side + x] = s;
    }
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      let s = 0;
      for (let j = -r; j <= r; j++) s += k[j + r] * tmp[clamp(y + j) * side + x];
      out[y * side + x] = s;
    }
  return out;
}

/**
 * Simard's elastic fields: uniform noise in [-1, 1] for x and y, smoothed by
 * a Gaussian of σ and multiplied by α. Smoothing is the costly part, so the
 * trainer draws a bank of fields once and picks one per image.
 */
export function elasticField(side: number, alpha: number, sigma: number, rand: () => number): Float32Array {
  const n = side * side;
  const k = gaussian(sigma);
  const field = new Float32Array(2 * n);
  for (let axis = 0; axis < 2; axis++) {
    const noise = new Float32Array(n);
    for (let i = 0; i < n; i++) noise[i] = rand() * 2 - 1;
    const smooth = blur(noise, side, k);
    for (let i = 0; i < n; i++) field[axis * n + i] = alpha * smooth[i];
  }
  return field;
}

/** A seeded bank of elastic fields (empty when α is 0). */
export function elasticBank(count: number, side: number, o: AugmentOptions, rand: () => number): Float32Array[] {
  return o.elastic > 0 ? Array.from({ length: count }, () => elasticField(side, o.elastic, o.elasticSigma, rand)) : [];
}

/** Draws one image's distortion (without shifts, which the trainer draws itself). */
export function drawWarp(o: AugmentOptions, bank: Float32Array[], rand: () => number): Warp {
  const angle = ((rand() * 2 - 1) * o.rotate * Math.PI) / 180;
  const scale = 1 + (rand() * 2 - 1) * o.scale;
  const thickness = (rand() * 2 - 1) * o.thickness;
  const field = bank.length ? bank[Math.floor(rand() * bank.length)] : null;
  return { angle, scale, dx: 0, dy: 0, thickness, field };
}
