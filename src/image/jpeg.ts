// A baseline JPEG decoder that decodes at a reduced scale: each 8×8 block
// becomes k×k pixels (k = 1, 2, 4 or 8) from its k×k lowest-frequency
// coefficients, so a 12 MP phone photo costs the Huffman decoding of its
// bits and a few multiplications per block, and the memory of the small
// picture only. jpeg-js decodes at full size (about 2 s and 430 MB of
// resident memory for 4032 × 3024 in Node): too much for a Worker's 128 MB.
// Shapes: W, H = the picture's size; k = pixels per block side out; the
// output is ceil(W·k/8) × ceil(H·k/8).
// Baseline and extended sequential Huffman JPEGs with 8-bit samples, 1 or 3
// components, any sampling factors, restart intervals and non-interleaved
// scans. Progressive, arithmetic-coded, 12-bit and CMYK files throw
// UnsupportedJpeg, and the caller decodes them another way.
import type { Raster } from "./raster";

/** The file uses a JPEG feature this decoder does not read (progressive, arithmetic, 12-bit, CMYK). */
export class UnsupportedJpeg extends Error {
  override name = "UnsupportedJpeg";
}

/** Zigzag position → natural (row-major) index in the 8×8 block. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22,
  15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks per line and block lines, padded to whole MCUs. */
  bw: number;
  bh: number;
  /** The component's k-scaled plane, (bh·k, bw·k). */
  plane: Uint8Array;
  pred: number;
  dc: Uint32Array | null;
  ac: Uint32Array | null;
}

/**
 * A Huffman table as one lookup on the next 16 bits: entry = symbol << 8 | code length
 * (length 0: no such code). 256 KB per table, built once per DHT.
 */
function huffmanTable(counts: Uint8Array, symbols: Uint8Array): Uint32Array {
  const t = new Uint32Array(65536);
  let code = 0;
  let s = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < counts[len - 1]; i++) {
      if (code >= 1 << len) throw new Error("a Huffman table has more codes than fit");
      const from = code << (16 - len);
      const to = (code + 1) << (16 - len);
      const e = (symbols[s++] << 8) | len;
      t.fill(e, from, to);
      code++;
    }
    code <<= 1;
  }
  return t;
}

/**
 * idct[k][X·8 + u] = C(u)·cos((2x + 1)uπ/16) / 2 at x, the centre of output
 * pixel X of k per block side: the 8-point inverse DCT evaluated at the
 * centres of the k×k sub-blocks, with the frequencies above k dropped (their
 * cosines average out over a sub-block). k = 1 gives F(0,0)/8, the block's mean.
 */
const IDCT: Record<number, Float32Array> = Object.fromEntries(
  [1, 2, 4, 8].map((k) => {
    const t = new Float32Array(k * 8);
    for (let X = 0; X < k; X++) {
      const x = (8 / k) * (X + 0.5) - 0.5;
      for (let u = 0; u < k; u++) t[X * 8 + u] = ((u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / 16)) / 2;
    }
    return [k, t];
  }),
);

/**
 * Decodes a baseline JPEG at 1/8, 1/4, 1/2 or full scale (k = 1, 2, 4, 8
 * pixels per block side). Returns grey (1 component) or RGB.
 * Throws UnsupportedJpeg for what it does not read, Error for corrupt data.
 */
export function decodeJpegScaled(b: Uint8Array, k: 1 | 2 | 4 | 8): Raster {
  const qt: Int32Array[] = [];
  const dcTables: Uint32Array[] = [];
  const acTables: Uint32Array[] = [];
  let comps: Component[] = [];
  let W = 0;
  let H = 0;
  let mcusX = 0;
  let mcusY = 0;
  let restart = 0;
  let adobeTransform = -1;
  let frame = false;
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) throw new Error(`expected a marker at byte ${o}`);
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    if (m === 0xd9) break;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = (b[o + 2] << 8) | b[o + 3];
    const seg = o + 4;
    const end = o + 2 + len;
    if (end > b.length) throw new Error(`segment 0xFF${m.toString(16)} runs past the end`);
    if (m === 0xdb) {
      for (let p = seg; p < end; ) {
        const pq = b[p] >> 4;
        const q = new Int32Array(64);
        for (let i = 0; i < 64; i++) q[i] = pq ? (b[p + 1 + 2 * i] << 8) | b[p + 2 + 2 * i] : b[p + 1 + i];
        qt[b[p] & 15] = q;
        p += 1 + (pq ? 128 : 64);
      }
    } else if (m === 0xc4) {
      for (let p = seg; p < end; ) {
        const tc = b[p] >> 4;
        const counts = b.subarray(p + 1, p + 17);
        const n = counts.reduce((s, c) => s + c, 0);
        const table = huffmanTable(counts, b.subarray(p + 17, p + 17 + n));
        (tc === 0 ? dcTables : acTables)[b[p] & 15] = table;
        p += 17 + n;
      }
    } else if (m === 0xc0 || m === 0xc1) {
      if (b[seg] !== 8) throw new UnsupportedJpeg(`${b[seg]}-bit samples`);
      H = (b[seg + 1] << 8) | b[seg + 2];
      W = (b[seg + 3] << 8) | b[seg + 4];
      const n = b[seg + 5];
      if (n !== 1 && n !== 3) throw new UnsupportedJpeg(`${n} components (CMYK)`);
      comps = [];
      for (let i = 0; i < n; i++) {
        const p = seg + 6 + 3 * i;
        comps.push({
          id: b[p],
          h: b[p + 1] >> 4 || 1,
          v: b[p + 1] & 15 || 1,
          tq: b[p + 2] & 3,
          bw: 0,
          bh: 0,
          plane: new Uint8Array(0),
          pred: 0,
          dc: null,
          ac: null,
        });
      }
      const hmax = Math.max(...comps.map((c) => c.h));
      const vmax = Math.max(...comps.map((c) => c.v));
      mcusX = Math.ceil(W / (8 * hmax));
      mcusY = Math.ceil(H / (8 * vmax));
      for (const c of comps) {
        c.bw = mcusX * c.h;
        c.bh = mcusY * c.v;
        c.plane = new Uint8Array(c.bw * k * c.bh * k);
      }
      frame = true;
    } else if (m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      throw new UnsupportedJpeg(m === 0xc2 || m === 0xc6 || m === 0xca ? "progressive" : "arithmetic or lossless coding");
    } else if (m === 0xdd) {
      restart = (b[seg] << 8) | b[seg + 1];
    } else if (m === 0xee && len >= 12 && String.fromCharCode(...b.subarray(seg, seg + 5)) === "Adobe") {
      adobeTransform = b[seg + 11];
    } else if (m === 0xda) {
      if (!frame) throw new Error("image data before any frame header");
      const ns = b[seg];
      const scan: Component[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((c) => c.id === b[seg + 1 + 2 * i]);
        if (!c) throw new Error(`the scan names component ${b[seg + 1 + 2 * i]}, which the frame has not`);
        c.dc = dcTables[b[seg + 2 + 2 * i] >> 4] ?? null;
        c.ac = acTables[b[seg + 2 + 2 * i] & 15] ?? null;
        if (!c.dc || !c.ac || !qt[c.tq]) throw new Error("a scan uses a Huffman or quantisation table that was not defined");
        scan.push(c);
      }
      o = decodeScan(b, end, scan, mcusX, mcusY, W, H, comps, restart, qt, k);
      continue;
    }
    o = end;
  }
  if (!frame) throw new Error("no frame header");
  return toPixels(comps, W, H, k, adobeTransform);
}

/** Decodes one scan's entropy-coded data from `start`; returns the offset after it. */
function decodeScan(
  b: Uint8Array,
  start: number,
  scan: Component[],
  mcusX: number,
  mcusY: number,
  W: number,
  H: number,
  comps: Component[],
  restart: number,
  qt: Int32Array[],
  k: 1 | 2 | 4 | 8,
): number {
  let pos = start;
  let buf = 0;
  let bits = 0;
  // The bit reader: FF 00 is a data FF; any other FF xx is a marker, and the
  // data past it reads as zeros (a truncated file then fails a code lookup).
  const fill = () => {
    while (bits <= 24) {
      let byte = 0;
      if (pos < b.length) {
        byte = b[pos];
        if (byte === 0xff) {
          const next = b[pos + 1];
          if (next === 0) pos += 2;
          else byte = 0;
        } else pos++;
      }
      buf = ((buf << 8) | byte) >>> 0;
      bits += 8;
    }
  };
  const take = (n: number): number => {
    if (bits < n) fill();
    bits -= n;
    const v = (buf >>> bits) & ((1 << n) - 1);
    buf = bits === 0 ? 0 : (buf & (0xffffffff >>> (32 - bits))) >>> 0;
    return v;
  };
  const symbol = (t: Uint32Array): number => {
    if (bits < 16) fill();
    const e = t[(buf >>> (bits - 16)) & 0xffff];
    const len = e & 255;
    if (len === 0) throw new Error("a Huffman code that no table holds");
    bits -= len;
    buf = bits === 0 ? 0 : (buf & (0xffffffff >>> (32 - bits))) >>> 0;
    return e >>> 8;
  };
  const extend = (v: number, s: number) => (v < 1 << (s - 1) ? v - (1 << s) + 1 : v);
  const coef = new Float32Array(64);
  const tmp = new Float32Array(64);
  const T = IDCT[k];
  // The natural indices of the k×k coefficients kept, as a mask by zigzag position.
  const keep = new Uint8Array(64);
  for (let z = 0; z < 64; z++) keep[z] = (ZIGZAG[z] & 7) < k && ZIGZAG[z] >> 3 < k ? 1 : 0;

  const block = (c: Component, bx: number, by: number) => {
    const q = qt[c.tq];
    coef.fill(0, 0, 64);
    const t = symbol(c.dc as Uint32Array);
    if (t > 11) throw new Error("a DC difference of more than 11 bits");
    c.pred += t ? extend(take(t), t) : 0;
    coef[0] = c.pred * q[0];
    const ac = c.ac as Uint32Array;
    for (let z = 1; z < 64; ) {
      const rs = symbol(ac);
      const r = rs >> 4;
      const s = rs & 15;
      if (s === 0) {
        if (r !== 15) break;
        z += 16;
        continue;
      }
      z += r;
      if (z > 63) throw new Error("a block with more than 64 coefficients");
      const v = extend(take(s), s);
      if (keep[z]) coef[ZIGZAG[z]] = v * q[z];
      z++;
    }
    // The separable inverse DCT at k points: rows v < k first, then columns.
    for (let v = 0; v < k; v++)
      for (let X = 0; X < k; X++) {
        let s = 0;
        for (let u = 0; u < k; u++) s += T[X * 8 + u] * coef[v * 8 + u];
        tmp[v * 8 + X] = s;
      }
    const stride = c.bw * k;
    for (let Y = 0; Y < k; Y++)
      for (let X = 0; X < k; X++) {
        let s = 128;
        for (let v = 0; v < k; v++) s += T[Y * 8 + v] * tmp[v * 8 + X];
        c.plane[(by * k + Y) * stride + bx * k + X] = s < 0 ? 0 : s > 255 ? 255 : s + 0.5;
      }
  };

  const reset = () => {
    for (const c of scan) c.pred = 0;
    buf = 0;
    bits = 0;
  };
  /** Skips to the restart marker that ends an interval. */
  const nextRestart = () => {
    while (pos + 1 < b.length && !(b[pos] === 0xff && b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7)) pos++;
    pos += 2;
    reset();
  };
  reset();
  let n = 0;
  if (scan.length === 1) {
    // A non-interleaved scan covers the component's own blocks, not whole MCUs.
    const c = scan[0];
    const hmax = Math.max(...comps.map((c) => c.h));
    const vmax = Math.max(...comps.map((c) => c.v));
    const cw = Math.ceil(Math.ceil((W * c.h) / hmax) / 8);
    const ch = Math.ceil(Math.ceil((H * c.v) / vmax) / 8);
    for (let by = 0; by < ch; by++)
      for (let bx = 0; bx < cw; bx++) {
        if (restart && n > 0 && n % restart === 0) nextRestart();
        block(c, bx, by);
        n++;
      }
  } else {
    for (let my = 0; my < mcusY; my++)
      for (let mx = 0; mx < mcusX; mx++) {
        if (restart && n > 0 && n % restart === 0) nextRestart();
        for (const c of scan) for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) block(c, mx * c.h + h, my * c.v + v);
        n++;
      }
  }
  // The next marker: past the scan's data (a 0xFF not followed by 00 or RSTn).
  pos = Math.max(start, pos - 4);
  while (pos + 1 < b.length && !(b[pos] === 0xff && b[pos + 1] !== 0 && !(b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7))) pos++;
  return pos;
}

/** The component planes, upsampled to the luma's resolution, as grey or RGB. */
function toPixels(comps: Component[], W: number, H: number, k: number, adobeTransform: number): Raster {
  const w = Math.ceil((W * k) / 8);
  const h = Math.ceil((H * k) / 8);
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  // Each component's column and row for each output pixel (chroma is usually half resolution).
  const cols = comps.map((c) => Int32Array.from({ length: w }, (_, x) => Math.floor((x * c.h) / hmax)));
  const rows = comps.map((c) => Int32Array.from({ length: h }, (_, y) => Math.floor((y * c.v) / vmax) * c.bw * k));
  if (comps.length === 1) {
    const data = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = comps[0].plane[rows[0][y] + cols[0][x]];
    return { width: w, height: h, channels: 1, data };
  }
  const data = new Uint8Array(w * h * 3);
  const [Y, Cb, Cr] = comps.map((c) => c.plane);
  const rgb = adobeTransform === 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const l = Y[rows[0][y] + cols[0][x]];
      const cb = Cb[rows[1][y] + cols[1][x]];
      const cr = Cr[rows[2][y] + cols[2][x]];
      if (rgb) {
        data[o] = l;
        data[o + 1] = cb;
        data[o + 2] = cr;
        continue;
      }
      // JFIF's YCbCr to RGB; the Uint8Array clamps nothing, so clamp here.
      const r = l + 1.402 * (cr - 128);
      const g = l - 0.344136 * (cb - 128) - 0.714136 * (cr - 128);
      const bl = l + 1.772 * (cb - 128);
      data[o] = r < 0 ? 0 : r > 255 ? 255 : r + 0.5;
      data[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g + 0.5;
      data[o + 2] = bl < 0 ? 0 : bl > 255 ? 255 : bl + 0.5;
    }
  return { width: w, height: h, channels: 3, data };
}
