// Ways of writing digits that MNIST rarely shows, made from MNIST digits
// themselves (no fonts, no other data): a 1 with a flag or a base serif, a
// crossed 7, a slashed 0, an open-top 4 or 9, an 8 of two stacked loops,
// and any digit redrawn with a finer or broader pen. Each style reads the
// digit's own geometry from its ink (bounding box, skeleton, holes, stroke
// width and ink level) and draws or erases with anti-aliased strokes.
// Deterministic: the only randomness is the caller's `rand`.
// Images are S×S bytes, row-major, ink high (S = side, 28 for MNIST);
// pixel (x, y) has its centre at (x, y).

/** Style names per class, in the order restyle knows them. */
export const STYLES: Record<number, string[]> = {
  0: ["slashed"],
  1: ["flag", "serif", "flag+serif"],
  4: ["open-top"],
  7: ["crossed"],
  8: ["two-loops"],
  9: ["open-top"],
};

/** Pixels at or above this level are ink for geometry (skeleton, runs). */
const INK = 128;
/** Below this level a pixel is paper when finding holes: a loop closed only by faint ink still counts as closed. */
const PAPER = 64;

type Point = [number, number];

/** What a style needs to know about a digit. */
interface Geometry {
  side: number;
  /** Bounding box of pixels ≥ INK, inclusive. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** The MNIST 20×20 box (scaled to side) around the digit that added strokes stay within. */
  box: [number, number, number, number];
  /** Level of full ink (the digit's brightest pixel). */
  level: number;
  /** Stroke width in pixels: ink area over skeleton length. */
  width: number;
  /** Zhang-Suen skeleton of the pixels ≥ INK, 1 = on. */
  skeleton: Uint8Array;
}

/**
 * Zhang & Suen (1984) thinning of the binary image `on` (1 = ink): peels
 * boundary pixels in two alternating sub-passes until none go, leaving
 * 8-connected lines one pixel wide along the middle of the strokes.
 */
export function thin(on: Uint8Array, side: number): Uint8Array {
  const img = Uint8Array.from(on);
  const at = (x: number, y: number) => (x >= 0 && y >= 0 && x < side && y < side ? img[y * side + x] : 0);
  const remove: number[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (let pass = 0; pass < 2; pass++) {
      remove.length = 0;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          if (!img[y * side + x]) continue;
          // Neighbours P2..P9, clockwise from north.
          const p = [at(x, y - 1), at(x + 1, y - 1), at(x + 1, y), at(x + 1, y + 1), at(x, y + 1), at(x - 1, y + 1), at(x - 1, y), at(x - 1, y - 1)];
          const b = p.reduce((s, v) => s + v, 0);
          if (b < 3 || b > 6) continue;
          let a = 0;
          for (let i = 0; i < 8; i++) if (!p[i] && p[(i + 1) % 8]) a++;
          if (a !== 1) continue;
          const [p2, , p4, , p6, , p8] = p;
          if (pass === 0 ? p2 * p4 * p6 || p4 * p6 * p8 : p2 * p4 * p8 || p2 * p6 * p8) continue;
          remove.push(y * side + x);
        }
      }
      for (const i of remove) img[i] = 0;
      if (remove.length) changed = true;
    }
  }
  return img;
}

/** The digit's geometry; null when it has no ink at INK or above. */
function geometry(src: Uint8Array, side: number): Geometry | null {
  let x0 = side;
  let y0 = side;
  let x1 = -1;
  let y1 = -1;
  let level = 0;
  let area = 0;
  const on = new Uint8Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const v = src[y * side + x];
      level = Math.max(level, v);
      area += v / 255;
      if (v < INK) continue;
      on[y * side + x] = 1;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  if (x1 < 0) return null;
  const skeleton = thin(on, side);
  const length = skeleton.reduce((s, v) => s + v, 0);
  // MNIST puts each digit in a 20×20 box inside 28×28; the box here is the one that holds the digit, nearest the centre.
  const b = Math.round((side * 20) / 28);
  const m = Math.round((side - b) / 2);
  const place = (lo: number, hi: number) => Math.max(hi - b + 1, Math.min(m, lo));
  const bx = place(x0, x1);
  const by = place(y0, y1);
  const box: Geometry["box"] = [bx, by, Math.max(bx + b - 1, x1), Math.max(by + b - 1, y1)];
  const width = Math.max(1, Math.min(5, area / Math.max(1, length)));
  return { side, x0, y0, x1, y1, box, level, width, skeleton };
}

/** Skeleton pixels as points. */
function points(g: Geometry): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < g.skeleton.length; i++) if (g.skeleton[i]) out.push([i % g.side, Math.floor(i / g.side)]);
  return out;
}

/** How much of pixel (x, y) a round-capped stroke of width w along a-b covers: 1 inside, a one-pixel ramp at the edge. */
function coverage(x: number, y: number, a: Point, b: Point, w: number): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy || 1)));
  const d = Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
  return Math.max(0, Math.min(1, w / 2 + 0.5 - d));
}

/** Calls f(i, c) for every pixel a stroke a-b of width w touches, c its coverage. */
function stroke(side: number, a: Point, b: Point, w: number, f: (i: number, c: number) => void): void {
  const r = w / 2 + 1;
  const xa = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
  const xb = Math.min(side - 1, Math.ceil(Math.max(a[0], b[0]) + r));
  const ya = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
  const yb = Math.min(side - 1, Math.ceil(Math.max(a[1], b[1]) + r));
  for (let y = ya; y <= yb; y++)
    for (let x = xa; x <= xb; x++) {
      const c = coverage(x, y, a, b, w);
      if (c > 0) f(y * side + x, c);
    }
}

/** Draws ink of `level` along a-b, over what is there (the darker wins). */
function draw(img: Float32Array, side: number, a: Point, b: Point, w: number, level: number): void {
  stroke(side, a, b, w, (i, c) => {
    img[i] = Math.max(img[i], level * c);
  });
}

/** Erases along a-b, as a pen-sized eraser would. */
function erase(img: Float32Array, side: number, a: Point, b: Point, w: number): void {
  stroke(side, a, b, w, (i, c) => {
    img[i] *= 1 - c;
  });
}

/** Moves a point into the box, keeping half a stroke's margin. */
function inBox(g: Geometry, [x, y]: Point, w: number): Point {
  const h = w / 2;
  const [bx0, by0, bx1, by1] = g.box;
  return [Math.max(bx0 + h, Math.min(bx1 - h, x)), Math.max(by0 + h, Math.min(by1 - h, y))];
}

/** Pixels below PAPER that the outside reaches (4-connected, so a diagonal gap between ink pixels does not leak). */
function outside(img: ArrayLike<number>, side: number): Uint8Array {
  const seen = new Uint8Array(side * side);
  const stack: number[] = [];
  const push = (i: number) => {
    if (!seen[i] && img[i] < PAPER) {
      seen[i] = 1;
      stack.push(i);
    }
  };
  for (let k = 0; k < side; k++) {
    push(k);
    push((side - 1) * side + k);
    push(k * side);
    push(k * side + side - 1);
  }
  while (stack.length) {
    const i = stack.pop() as number;
    const x = i % side;
    if (x > 0) push(i - 1);
    if (x + 1 < side) push(i + 1);
    if (i >= side) push(i - side);
    if (i + side < side * side) push(i + side);
  }
  return seen;
}

/** A hole: paper enclosed by ink, as pixel indices, with its centroid and top. */
interface Hole {
  pixels: number[];
  cx: number;
  cy: number;
  top: number;
}

/** The holes of a digit (loops' insides) of at least minArea pixels, top first. */
export function holes(img: ArrayLike<number>, side: number, minArea = 3): Hole[] {
  const seen = outside(img, side);
  const found: Hole[] = [];
  for (let s = 0; s < side * side; s++) {
    if (seen[s] || img[s] >= PAPER) continue;
    const pixels: number[] = [];
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const i = stack.pop() as number;
      pixels.push(i);
      const x = i % side;
      for (const j of [x > 0 ? i - 1 : -1, x + 1 < side ? i + 1 : -1, i - side, i + side])
        if (j >= 0 && j < side * side && !seen[j] && img[j] < PAPER) {
          seen[j] = 1;
          stack.push(j);
        }
    }
    if (pixels.length < minArea) continue;
    const cx = pixels.reduce((t, i) => t + (i % side), 0) / pixels.length;
    const cy = pixels.reduce((t, i) => t + Math.floor(i / side), 0) / pixels.length;
    found.push({ pixels, cx, cy, top: Math.min(...pixels.map((i) => Math.floor(i / side))) });
  }
  return found.sort((a, b) => a.cy - b.cy);
}

/** Ink components (8-connected pixels ≥ PAPER): a cut must not break a digit in two. */
function pieces(img: ArrayLike<number>, side: number): number {
  const seen = new Uint8Array(side * side);
  let n = 0;
  for (let s = 0; s < side * side; s++) {
    if (seen[s] || img[s] < PAPER) continue;
    n++;
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const i = stack.pop() as number;
      const x = i % side;
      const y = Math.floor(i / side);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const u = x + dx;
          const v = y + dy;
          const j = v * side + u;
          if (u >= 0 && v >= 0 && u < side && v < side && !seen[j] && img[j] >= PAPER) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
  }
  return n;
}

/**
 * From `from`, walks along `dir` to the first ink and on through it; gives
 * where the ink starts and ends, or null when the walk leaves the image first.
 */
function crossInk(img: Float32Array, side: number, from: Point, dir: Point): [Point, Point] | null {
  let entry: Point | null = null;
  for (let t = 0; t < 2 * side; t += 0.25) {
    const x = from[0] + t * dir[0];
    const y = from[1] + t * dir[1];
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= side || yi >= side) return null;
    const v = img[yi * side + xi];
    if (!entry && v >= PAPER) entry = [x, y];
    else if (entry && v < PAPER) return [entry, [x, y]];
  }
  return null;
}

const rotate = ([x, y]: Point, t: number): Point => [x * Math.cos(t) - y * Math.sin(t), x * Math.sin(t) + y * Math.cos(t)];
const between = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand();

/** Top end, bottom end and length of a digit's main stroke, from its skeleton. */
function stem(g: Geometry): { top: Point; bottom: Point; length: number } | null {
  const p = points(g);
  if (p.length < 3) return null;
  const ys = p.map(([, y]) => y);
  const yTop = Math.min(...ys);
  const yBottom = Math.max(...ys);
  const mean = (row: number): Point => {
    const on = p.filter(([, y]) => y === row);
    return [on.reduce((s, [x]) => s + x, 0) / on.length, row];
  };
  const top = mean(yTop);
  const bottom = mean(yBottom);
  return { top, bottom, length: Math.hypot(bottom[0] - top[0], bottom[1] - top[1]) };
}

/** A 1's flag: from the top end, down and to the left of the stem, a quarter to nearly half its length. */
function flag(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const s = stem(g);
  if (!s || s.length < 6) return false;
  const u: Point = [(s.bottom[0] - s.top[0]) / s.length, (s.bottom[1] - s.top[1]) / s.length];
  // u turned a quarter clockwise on the screen (y down): left of a stem drawn downwards.
  const left: Point = [-u[1], u[0]];
  const a = between(rand, 0.6, 1.25);
  const d: Point = [Math.cos(a) * u[0] + Math.sin(a) * left[0], Math.cos(a) * u[1] + Math.sin(a) * left[1]];
  const len = s.length * between(rand, 0.22, 0.42);
  const w = g.width * between(rand, 0.85, 1);
  const end = inBox(g, [s.top[0] + len * d[0], s.top[1] + len * d[1]], w);
  draw(img, g.side, s.top, end, w, g.level);
  return true;
}

/** A 1's base serif: a horizontal stroke through the bottom end, a fifth to a third of the stem each way. */
function serif(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const s = stem(g);
  if (!s || s.length < 6) return false;
  const half = Math.max(2, s.length * between(rand, 0.18, 0.3));
  const w = g.width * between(rand, 0.85, 1);
  const shift = between(rand, -0.3, 0.3) * half;
  const [bx, by] = s.bottom;
  draw(img, g.side, inBox(g, [bx - half + shift, by], w), inBox(g, [bx + half + shift, by], w), w, g.level);
  return true;
}

/** Runs of ink (pixels ≥ INK) in row y, as [first, last] columns. */
function runs(img: Float32Array, side: number, y: number): [number, number][] {
  const out: [number, number][] = [];
  for (let x = 0; x < side; x++) {
    if (img[y * side + x] < INK) continue;
    const start = x;
    while (x + 1 < side && img[y * side + x + 1] >= INK) x++;
    out.push([start, x]);
  }
  return out;
}

/** A 7's crossbar: a short, nearly level stroke through the stem at about mid-height, where the stem is one run of ink. */
function crossed(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const h = g.y1 - g.y0;
  if (h < 8) return false;
  const start = g.y0 + Math.round(h * between(rand, 0.45, 0.55));
  // The first row at or below mid-height where the stem is a single stroke (not the bar, not a crossbar already there).
  for (let y = start; y <= g.y0 + Math.round(h * 0.68); y++) {
    const r = runs(img, g.side, y);
    if (r.length !== 1 || r[0][1] - r[0][0] + 1 > 3 * g.width + 2) continue;
    const cx = (r[0][0] + r[0][1]) / 2;
    const half = Math.max(2.5, (g.x1 - g.x0) * between(rand, 0.22, 0.35));
    const tilt = between(rand, -0.12, 0.12);
    const w = g.width * between(rand, 0.8, 1);
    const [dx, dy] = rotate([half, 0], tilt);
    draw(img, g.side, inBox(g, [cx - dx, y - dy], w), inBox(g, [cx + dx, y + dy], w), w, g.level);
    return true;
  }
  return false;
}

/** A 0's slash: a stroke through the middle of the hole, leaning like "/", from the ring to the ring. */
function slashed(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const hole = holes(img, g.side, 6)[0];
  if (!hole) return false;
  const a = between(rand, 0.95, 1.3);
  const up: Point = [Math.cos(a), -Math.sin(a)];
  const from: Point = [hole.cx, hole.cy];
  const ends = [up, [-up[0], -up[1]] as Point].map((d) => crossInk(img, g.side, from, d));
  if (!ends[0] || !ends[1]) return false;
  // Into the middle of the ring each way, so the slash joins it as a pen stroke would.
  const mid = ([p, q]: [Point, Point]): Point => [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
  const w = g.width * between(rand, 0.8, 1);
  draw(img, g.side, mid(ends[0]), mid(ends[1]), w, g.level);
  return true;
}

/**
 * Opens a loop: walks from `from` along `dir` through the ring and erases
 * there with a pen-wide eraser, wider until the hole reaches the outside.
 * Refuses when the cut would break the digit in two or take a quarter of
 * its ink.
 */
function open(img: Float32Array, g: Geometry, from: Point, dir: Point, gap: number): boolean {
  const cut = crossInk(img, g.side, from, dir);
  if (!cut) return false;
  const before = Float32Array.from(img);
  const ink = before.reduce((s, v) => s + v, 0);
  const n = pieces(before, g.side);
  const [p, q] = cut;
  const a: Point = [p[0] - dir[0], p[1] - dir[1]];
  const b: Point = [q[0] + dir[0], q[1] + dir[1]];
  const hole = Math.round(from[1]) * g.side + Math.round(from[0]);
  for (let w = gap; w <= gap + 2; w += 0.5) {
    img.set(before);
    erase(img, g.side, a, b, w);
    if (!outside(img, g.side)[hole]) continue;
    const left = img.reduce((s, v) => s + v, 0);
    if (pieces(img, g.side) > n || left < 0.75 * ink) break;
    return true;
  }
  img.set(before);
  return false;
}

/** The hole pixel nearest the centroid (a concave hole's centroid may lie on ink). */
function inside(h: Hole, side: number): Point {
  let best = h.pixels[0];
  let d = Infinity;
  for (const i of h.pixels) {
    const e = Math.hypot((i % side) - h.cx, Math.floor(i / side) - h.cy);
    if (e < d) [best, d] = [i, e];
  }
  return [best % side, Math.floor(best / side)];
}

/** A 9 with the top of its loop open: the ring cut above the hole, straight up or leaning either way. */
function openNine(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const hole = holes(img, g.side)[0];
  if (!hole || hole.cy > (g.y0 + g.y1) / 2) return false;
  const dir = rotate([0, -1], between(rand, -0.6, 0.5));
  return open(img, g, inside(hole, g.side), dir, g.width * between(rand, 0.8, 1.2) + 0.5);
}

/**
 * A 4 with an open top, as written in two strokes: the slanted stroke
 * erased (in each row of the hole, the ink left of it, and its faint edge)
 * and a left arm drawn instead, from where the slanted stroke met the bar
 * up (leaning left a little) to 5–30% below the digit's top, or lower
 * where the rest of the slanted stroke would close it, so the top stays
 * open between the arm and the stem. Refused unless the hole then
 * reaches the outside without the digit breaking in two.
 */
function openFour(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const hole = holes(img, g.side)[0];
  if (!hole || hole.cy > (g.y0 + g.y1) / 2 + 2) return false;
  const rowOf = (i: number) => Math.floor(i / g.side);
  const bottom = Math.max(...hole.pixels.map(rowOf));
  if (bottom - hole.top < 3) return false;
  const before = Float32Array.from(img);
  let foot: Point | null = null;
  for (let y = hole.top; y <= bottom; y++) {
    const row = hole.pixels.filter((i) => rowOf(i) === y).map((i) => i % g.side);
    const cut = row.length ? crossInk(img, g.side, [Math.min(...row), y], [-1, 0]) : null;
    if (!cut) continue;
    erase(img, g.side, [cut[0][0], y], [cut[1][0] - 1, y], 1);
    foot = [(cut[0][0] + cut[1][0]) / 2, y + g.width / 2];
  }
  if (!foot) return false;
  // The arm reaches about as high as the digit, as the stem does; lower if
  // what is left of the slanted stroke near the apex would close the top again.
  const height = foot[1] - g.y0;
  const w = g.width * between(rand, 0.85, 1);
  const lean = between(rand, 0, 0.2);
  const cut = Float32Array.from(img);
  const n = pieces(before, g.side);
  for (let y = g.y0 + height * between(rand, 0.05, 0.3); y < foot[1] - 2; y += 1) {
    img.set(cut);
    draw(img, g.side, foot, inBox(g, [foot[0] - (foot[1] - y) * lean, y], w), w, g.level);
    if (outside(img, g.side)[hole.pixels[0]] && pieces(img, g.side) <= n) return true;
  }
  img.set(before);
  return false;
}

/**
 * The ellipse through a set of points along a closed curve, by moments:
 * points spread evenly along an ellipse of semi-axis a have variance a²/2
 * along it. Gives the centre, the semi-axes (a ≥ b) and the angle of a.
 */
function ellipseThrough(p: Point[]) {
  const n = p.length;
  const cx = p.reduce((s, [x]) => s + x, 0) / n;
  const cy = p.reduce((s, [, y]) => s + y, 0) / n;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (const [x, y] of p) {
    xx += (x - cx) ** 2;
    yy += (y - cy) ** 2;
    xy += (x - cx) * (y - cy);
  }
  xx /= n;
  yy /= n;
  xy /= n;
  const m = (xx + yy) / 2;
  const r = Math.sqrt(((xx - yy) / 2) ** 2 + xy * xy);
  return { cx, cy, a: Math.sqrt(2 * (m + r)), b: Math.sqrt(2 * Math.max(0, m - r)), angle: 0.5 * Math.atan2(2 * xy, xx - yy) };
}

/**
 * An 8 of two loops drawn one on the other (a small loop on a larger one,
 * touching, not one stroke crossing itself): the skeleton split at the
 * waist between the two holes, each half's ellipse (by moments) drawn as a
 * ring of the digit's own width and level, in place of the digit, the
 * upper ring resting on the lower one at the waist.
 */
function twoLoops(img: Float32Array, g: Geometry, rand: () => number): boolean {
  const found = holes(img, g.side);
  if (found.length !== 2 || found[1].cy - found[0].cy < 3) return false;
  const bottomOfUpper = Math.max(...found[0].pixels.map((i) => Math.floor(i / g.side)));
  const waist = (bottomOfUpper + found[1].top) / 2;
  const p = points(g);
  const halves = [p.filter(([, y]) => y < waist), p.filter(([, y]) => y > waist)];
  if (halves.some((h) => h.length < 6)) return false;
  const w = g.width * between(rand, 0.85, 1);
  const [upper, lower] = halves.map(ellipseThrough);
  // Half the height of an ellipse turned by its angle.
  const tall = (e: typeof upper) => Math.sqrt((e.a * Math.sin(e.angle)) ** 2 + (e.b * Math.cos(e.angle)) ** 2);
  /** The rings at a scale, the upper resting on the lower at the waist (the lines just touching). */
  const rings = (scale: number): Point[][] =>
    [upper, lower].map((e, k) => {
      const cy = k === 0 ? waist - scale * tall(e) + w / 4 : waist + scale * tall(e) - w / 4;
      return Array.from({ length: 49 }, (_, j): Point => {
        const t = (j / 48) * 2 * Math.PI;
        const [dx, dy] = rotate([scale * e.a * Math.cos(t), scale * e.b * Math.sin(t)], e.angle);
        return [e.cx + dx, cy + dy];
      });
    });
  // Loops that would leave the box are drawn smaller, not flattened against it.
  const fits = (p: Point) => inBox(g, p, w).every((v, i) => Math.abs(v - p[i]) < 0.25);
  let scale = 1;
  while (scale > 0.7 && !rings(scale).every((r) => r.every(fits))) scale -= 0.05;
  img.fill(0);
  for (const r of rings(scale)) {
    const q = r.map((p) => inBox(g, p, w));
    for (let j = 1; j < q.length; j++) draw(img, g.side, q[j - 1], q[j], w, g.level);
  }
  return true;
}

const MAKERS: Record<string, (img: Float32Array, g: Geometry, rand: () => number) => boolean> = {
  slashed,
  flag,
  serif,
  "flag+serif": (img, g, rand) => flag(img, g, rand) && serif(img, g, rand),
  crossed,
  "two-loops": twoLoops,
};
const OPEN: Record<number, typeof openNine> = { 4: openFour, 9: openNine };

/** Centre of mass of an image, (x, y). */
function centre(img: ArrayLike<number>, side: number): Point {
  let m = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < side * side; i++) {
    m += img[i];
    sx += img[i] * (i % side);
    sy += img[i] * Math.floor(i / side);
  }
  return m ? [sx / m, sy / m] : [(side - 1) / 2, (side - 1) / 2];
}

/** Writes img into out as bytes, moved by whole pixels so its centre of mass is where `src` had it (MNIST centres by it). */
function settle(img: Float32Array, src: Uint8Array, side: number, out: Uint8Array): void {
  const [ax, ay] = centre(src, side);
  const [bx, by] = centre(img, side);
  const dx = Math.round(ax - bx);
  const dy = Math.round(ay - by);
  out.fill(0);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const u = x - dx;
      const v = y - dy;
      if (u < 0 || v < 0 || u >= side || v >= side) continue;
      const g = img[v * side + u];
      out[y * side + x] = g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
    }
}

/**
 * Draws one named style (STYLES) of the digit `src` into `out`, in place
 * (not re-centred), and says whether it could: false when the digit's
 * geometry does not allow it (no hole for a slash, a cut that would break
 * the digit in two, …); then out is unspecified.
 */
export function applyStyle(src: Uint8Array, label: number, style: string, side: number, rand: () => number, out: Uint8Array): boolean {
  if (!STYLES[label]?.includes(style)) return false;
  const g = geometry(src, side);
  if (!g) return false;
  const img = Float32Array.from(src);
  const ok = style === "open-top" ? OPEN[label](img, g, rand) : MAKERS[style](img, g, rand);
  if (!ok) return false;
  for (let i = 0; i < img.length; i++) out[i] = img[i] <= 0 ? 0 : img[i] >= 255 ? 255 : Math.round(img[i]);
  return true;
}

/**
 * Restyles the digit `src` (side × side, ink high) of class `label` as some
 * people write it, into `out`; returns false when the class has no style
 * (STYLES) or this digit's shape does not allow one (out is then
 * unspecified). One style of the class is drawn by `rand`; the others are
 * tried if it does not fit. Geometry comes from the digit's ink: its
 * bounding box, the Zhang-Suen skeleton of pixels ≥ 128, its holes (paper
 * < 64 that the outside does not reach), stroke width = ink area / skeleton
 * length, ink level = its brightest pixel. Strokes are drawn anti-aliased
 * (coverage from the distance to the segment) at that width and level.
 *
 * - 1 "flag": a stroke from the skeleton's top end, 35–70° left of the stem
 *   and 22–42% of its length (the long up-stroke that reads as a 7);
 *   "serif": a level stroke through the bottom end, 18–30% of the stem each
 *   way; "flag+serif": both.
 * - 7 "crossed": a nearly level bar through the stem at 45–68% of the
 *   height, on the first row where the stem is a single stroke.
 * - 0 "slashed": a stroke leaning 55–75° through the hole's centroid, from
 *   the middle of the ring to the middle of the ring.
 * - 4 "open-top" (a closed 4, one with a hole): the slanted stroke erased
 *   along the hole (each row's ink left of it) and a left arm drawn from
 *   where it met the bar up to 5–30% below the digit's top (lower if the
 *   rest of the slanted stroke would close the top again), as a 4 written
 *   in two strokes. Most MNIST 4s are open already and are refused.
 * - 9 "open-top": the loop's ring cut above the hole (straight up or
 *   leaning up to ~35° either way) by an eraser about a stroke wide,
 *   widened until the hole reaches the outside; refused when the cut would
 *   split the digit or take a quarter of its ink.
 * - 8 "two-loops": the digit redrawn as two rings, the ellipses (by
 *   moments) of its skeleton above and below the waist between its two
 *   holes, the upper resting on the lower: two loops drawn one on the
 *   other, not one stroke crossing itself; needs two holes, one above the
 *   other.
 *
 * Added strokes stay inside the MNIST 20×20 box around the digit, and the
 * result is moved by whole pixels so its centre of mass stays where MNIST
 * put the original's. Deterministic given rand.
 *
 * @example
 * const out = new Uint8Array(784);
 * if (restyle(digit, 1, 28, rng(7), out)) show(out); // a 1 with a flag or a serif
 */
export function restyle(src: Uint8Array, label: number, side: number, rand: () => number, out: Uint8Array): boolean {
  const names = STYLES[label];
  if (!names) return false;
  const first = Math.floor(rand() * names.length);
  const tmp = new Uint8Array(side * side);
  for (let k = 0; k < names.length; k++) {
    if (!applyStyle(src, label, names[(first + k) % names.length], side, rand, tmp)) continue;
    settle(Float32Array.from(tmp), src, side, out);
    return true;
  }
  return false;
}

/**
 * Redraws a digit with a pen `target` pixels wide (1 = fine pen, 4 =
 * marker): its skeleton, each point moved to the mean of the skeleton
 * within a pixel (smoothing the pixel steps), joined to its 8-neighbours by
 * anti-aliased strokes at the digit's ink level. A digit without ink comes
 * back as it was.
 *
 * @example
 * strokeWidth(digit, 28, 1.2, out); // as if written with a fine pen
 */
export function strokeWidth(src: Uint8Array, side: number, target: number, out: Uint8Array = new Uint8Array(side * side)): Uint8Array {
  const g = geometry(src, side);
  if (!g) {
    out.set(src);
    return out;
  }
  const sk = g.skeleton;
  const smooth = new Map<number, Point>();
  for (let i = 0; i < sk.length; i++) {
    if (!sk[i]) continue;
    const x = i % side;
    const y = Math.floor(i / side);
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const u = x + dx;
        const v = y + dy;
        if (u >= 0 && v >= 0 && u < side && v < side && sk[v * side + u]) {
          n++;
          sx += u;
          sy += v;
        }
      }
    smooth.set(i, [sx / n, sy / n]);
  }
  const img = new Float32Array(side * side);
  for (const [i, p] of smooth) {
    draw(img, side, p, p, target, g.level);
    const x = i % side;
    // Each pair once: the neighbours after this pixel in reading order.
    for (const [dx, dy] of [
      [1, 0],
      [-1, 1],
      [0, 1],
      [1, 1],
    ]) {
      const u = x + dx;
      const j = i + dy * side + dx;
      if (u >= 0 && u < side && j < side * side && sk[j]) draw(img, side, p, smooth.get(j) as Point, target, g.level);
    }
  }
  settle(img, src, side, out);
  return out;
}
