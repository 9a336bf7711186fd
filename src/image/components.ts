// The ink of a picture as pieces: connected components of the ink plane,
// grouped into digits written in a row. Shared by the single-digit recipe
// (which drops specks apart from the digit) and the segmentation of numbers.
// Shapes: H, W = the plane's height and width.

/** One connected piece of ink (8-connected), its box inclusive. */
export interface Piece {
  id: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Sum of its ink levels. */
  mass: number;
}

/** Pieces grouped as one digit, with their box (inclusive) and ink. */
export interface Group {
  pieces: Piece[];
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  mass: number;
}

/** A piece with less than this share of the heaviest piece's ink is a speck. */
const SPECK_MASS = 0.03;

/** A group less tall than this share of the median group's height is a dot or a dash, not a digit. */
const DOT_HEIGHT = 0.35;

/**
 * A group less tall than this share of the median height, within NEAR of the
 * median height from a neighbour, is a broken-off stroke of the nearer one
 * (a 5's flag that ends past its body, a gap in a pen stroke).
 */
const PART_HEIGHT = 0.6;
const NEAR = 0.3;

/** Two groups whose columns overlap by this share of the narrower one are one digit (a 5's flag, a 4 in two strokes). */
const SAME_COLUMN = 0.5;

/**
 * A group wider than this many times the median height holds touching
 * digits: it is cut into round(w / (DIGIT_WIDTH · median height)) digits at
 * the columns with least ink. Conservative: MNIST's widest single digits
 * (a flat 2, a 5 with a long flag) reach nearly twice their neighbours' height,
 * so two narrow digits touching stay one (and read as one wrong digit).
 */
const TOUCHING = 2;
const DIGIT_WIDTH = 0.9;

/**
 * Connected components (8-neighbours) of the pixels of v (H, W) above 0.
 * Returns each pixel's piece id (−1 for none) and the pieces.
 */
export function components(v: Float32Array, W: number, H: number): { labels: Int32Array; pieces: Piece[] } {
  const labels = new Int32Array(W * H).fill(-1);
  const pieces: Piece[] = [];
  const stack = new Int32Array(W * H);
  for (let start = 0; start < v.length; start++) {
    if (v[start] <= 0 || labels[start] >= 0) continue;
    const p: Piece = { id: pieces.length, x0: W, y0: H, x1: -1, y1: -1, mass: 0 };
    let top = 0;
    stack[top++] = start;
    labels[start] = p.id;
    while (top > 0) {
      const i = stack[--top];
      const x = i % W;
      const y = (i - x) / W;
      p.mass += v[i];
      if (x < p.x0) p.x0 = x;
      if (x > p.x1) p.x1 = x;
      if (y < p.y0) p.y0 = y;
      if (y > p.y1) p.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const Y = y + dy;
        if (Y < 0 || Y >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const X = x + dx;
          if (X < 0 || X >= W) continue;
          const j = Y * W + X;
          if (v[j] > 0 && labels[j] < 0) {
            labels[j] = p.id;
            stack[top++] = j;
          }
        }
      }
    }
    pieces.push(p);
  }
  return { labels, pieces };
}

const overlap = (a: Group, b: Group) => Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) + 1;
const width = (g: Group) => g.x1 - g.x0 + 1;
const height = (g: Group) => g.y1 - g.y0 + 1;

function join(a: Group, b: Group): Group {
  return {
    pieces: [...a.pieces, ...b.pieces],
    x0: Math.min(a.x0, b.x0),
    y0: Math.min(a.y0, b.y0),
    x1: Math.max(a.x1, b.x1),
    y1: Math.max(a.y1, b.y1),
    mass: a.mass + b.mass,
  };
}

const medianHeight = (groups: Group[]): number => {
  const heights = groups.map(height).sort((a, b) => a - b);
  return heights[heights.length >> 1] ?? 0;
};

/**
 * The pieces as digits, left to right: specks (under 3% of the heaviest
 * piece's ink) dropped; pieces whose columns overlap by half the narrower
 * one joined (strokes of one digit that do not touch); short pieces close to
 * a neighbour joined to the nearer one; groups under 35% of the median
 * height then dropped (dots, dashes).
 */
export function groupDigits(pieces: Piece[]): Group[] {
  const heaviest = pieces.reduce((m, p) => Math.max(m, p.mass), 0);
  let groups: Group[] = pieces
    .filter((p) => p.mass >= SPECK_MASS * heaviest)
    .map((p) => ({ pieces: [p], x0: p.x0, y0: p.y0, x1: p.x1, y1: p.y1, mass: p.mass }))
    .sort((a, b) => a.x0 - b.x0);
  const merge = (i: number, j: number) => {
    const [a, b] = i < j ? [i, j] : [j, i];
    groups = [...groups.slice(0, a), join(groups[a], groups[b]), ...groups.slice(a + 1, b), ...groups.slice(b + 1)].sort((p, q) => p.x0 - q.x0);
  };
  for (let joined = true; joined; ) {
    joined = false;
    for (let i = 0; i < groups.length && !joined; i++)
      for (let j = i + 1; j < groups.length && !joined; j++) {
        if (overlap(groups[i], groups[j]) >= SAME_COLUMN * Math.min(width(groups[i]), width(groups[j]))) {
          merge(i, j);
          joined = true;
        }
      }
  }
  for (let joined = true; joined; ) {
    joined = false;
    const tall = medianHeight(groups);
    for (let i = 0; i < groups.length && !joined; i++) {
      if (height(groups[i]) >= PART_HEIGHT * tall) continue;
      // The gap to each neighbour (negative when they overlap).
      const gap = (j: number) => (j < 0 || j >= groups.length ? Infinity : Math.max(groups[i].x0, groups[j].x0) - Math.min(groups[i].x1, groups[j].x1));
      const j = gap(i - 1) <= gap(i + 1) ? i - 1 : i + 1;
      if (gap(j) <= NEAR * tall) {
        merge(i, j);
        joined = true;
      }
    }
  }
  const tall = medianHeight(groups);
  return groups.filter((g) => height(g) >= DOT_HEIGHT * tall);
}

/**
 * Column ranges [x0, x1] of the digits in a group: one, or for a group
 * wider than TOUCHING times `tall` (the median digit height),
 * round(w / (DIGIT_WIDTH · tall)) digits cut at the column with least ink
 * within a quarter digit of each even cut.
 */
export function cutTouching(g: Group, v: Float32Array, W: number, tall: number): [number, number][] {
  const w = width(g);
  const h = Math.max(tall, 1);
  const n = w > TOUCHING * h ? Math.max(2, Math.round(w / (DIGIT_WIDTH * h))) : 1;
  if (n === 1) return [[g.x0, g.x1]];
  const column = new Float32Array(w);
  for (let y = g.y0; y <= g.y1; y++) for (let x = g.x0; x <= g.x1; x++) column[x - g.x0] += v[y * W + x];
  const cuts = [g.x0];
  for (let c = 1; c < n; c++) {
    const ideal = Math.round((c * w) / n);
    const reach = Math.max(1, Math.round(w / n / 4));
    let best = ideal;
    for (let x = Math.max(1, ideal - reach); x <= Math.min(w - 2, ideal + reach); x++) if (column[x] < column[best]) best = x;
    cuts.push(g.x0 + best);
  }
  cuts.push(g.x1 + 1);
  return cuts.slice(0, -1).map((x, i) => [x, cuts[i + 1] - 1]);
}

/** The median height of the groups: the height of a digit in this picture. */
export function digitHeight(groups: Group[]): number {
  return medianHeight(groups);
}

/** Zeroes the ink of v (H, W) that is no digit's: specks and dots (groupDigits()). */
export function keepDigits(v: Float32Array, W: number, H: number): void {
  const { labels, pieces } = components(v, W, H);
  const kept = new Uint8Array(pieces.length);
  for (const g of groupDigits(pieces)) for (const p of g.pieces) kept[p.id] = 1;
  for (let i = 0; i < v.length; i++) if (labels[i] >= 0 && !kept[labels[i]]) v[i] = 0;
}
