// npm run distortions [-- --weights a.safetensors,b.safetensors] [--limit N] [--out bench/distortions.json] [--grid styles.png]
// Accuracy of digit models on the MNIST test digits distorted one way at a
// time, with the trainer's own augmentation (scripts/lib/augment.ts): tilted,
// larger, smaller, bolder, finer, wobblier, off-centre; then written another
// way (scripts/lib/styles.ts: a 1 with a flag, a crossed 7, a slashed 0, …)
// or with a finer or broader pen. A quick proxy for drawn and scanned digits;
// the images are made here, and nothing is written unless --out names a file.
// --grid writes a PNG of the styles to look at: one row per style (named on
// the console), pairs of an MNIST test digit and its restyled self, then one
// row per pen width. Without --weights, the bundled digits models (the
// catalog's mnist ones).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { encode as encodePng } from "fast-png";
import { decodeModel } from "../src/model/format";
import { rng } from "../src/nn/random";
import { DATASET_HINT, datasetPresent, loadSplit, modelsOf, type Split } from "../test/fixtures/datasets";
import { augment, elasticField, HANDWRITTEN, IDENTITY, type Warp } from "./lib/augment";
import { command, fail } from "./lib/cli";
import { applyStyle, restyle, STYLES, strokeWidth } from "./lib/styles";
import { evaluate } from "./lib/evaluate";
import { weightsFile } from "./lib/paths";
import { table } from "./lib/table";

const args = command({
  name: "distortions",
  usage: "usage: npm run distortions [-- --weights a.safetensors,b.safetensors] [--limit N] [--out bench/distortions.json] [--grid styles.png]",
  options: { weights: { type: "string" }, limit: { type: "string" }, out: { type: "string" }, grid: { type: "string" } },
});
const files = args.values.weights ? args.values.weights.split(",").map((f) => resolve(f)) : modelsOf("mnist").map(weightsFile);
for (const f of files) if (!existsSync(f)) fail(`${f} not found`);
if (!datasetPresent("mnist", "test")) fail(`the MNIST test files are missing: ${DATASET_HINT.mnist}`);
const test = loadSplit("mnist", "test");
const count = args.integer("limit", { min: 1, max: test.count, fallback: test.count });

const S = 28;
const deg = Math.PI / 180;
/** One seeded elastic field per image, as the mnist-mlp preset trains with (HANDWRITTEN). */
const rand = rng(2026);
const fields = Array.from({ length: 64 }, () => elasticField(S, HANDWRITTEN.elastic, HANDWRITTEN.elasticSigma, rand));
/** Makes digit n (of class label) one way into out; false leaves it out of that row. */
type Make = (src: Uint8Array, n: number, label: number, out: Uint8Array<ArrayBuffer>) => boolean;
const warped =
  (warp: (n: number) => Warp): Make =>
  (src, n, _label, out) => {
    augment(src, S, warp(n), out);
    return true;
  };
const pen =
  (width: number): Make =>
  (src, _n, _label, out) => {
    strokeWidth(src, S, width, out);
    return true;
  };
const conditions: [string, Make][] = [
  ["clean", warped(() => IDENTITY)],
  ["rotated +15°", warped(() => ({ ...IDENTITY, angle: 15 * deg }))],
  ["rotated -15°", warped(() => ({ ...IDENTITY, angle: -15 * deg }))],
  ["scaled 0.8", warped(() => ({ ...IDENTITY, scale: 0.8 }))],
  ["scaled 1.2", warped(() => ({ ...IDENTITY, scale: 1.2 }))],
  ["thicker (dilated)", warped(() => ({ ...IDENTITY, thickness: 1 }))],
  ["thinner (eroded 0.7)", warped(() => ({ ...IDENTITY, thickness: -0.7 }))],
  ["elastic α30 σ5", warped((n) => ({ ...IDENTITY, field: fields[n % fields.length] }))],
  ["shifted (3, 2) px", warped(() => ({ ...IDENTITY, dx: 3, dy: 2 }))],
  ["pen 1 px (redrawn)", pen(1)],
  ["pen 4 px (redrawn)", pen(4)],
  // Only the digits a style fits (classes 0 1 4 7 8 9), so the row's count is its own.
  ["restyled", (src, n, label, out) => restyle(src, label, S, rng(n), out)],
];

function distorted(make: Make): Split {
  const pixels = new Uint8Array(count * S * S);
  const labels = new Uint8Array(count);
  let k = 0;
  for (let n = 0; n < count; n++) {
    const out = pixels.subarray(k * S * S, (k + 1) * S * S);
    if (!make(test.pixels.subarray(n * S * S, (n + 1) * S * S), n, test.labels[n], out)) continue;
    labels[k++] = test.labels[n];
  }
  return { count: k, pixels: pixels.subarray(0, k * S * S), labels: labels.subarray(0, k) };
}

if (args.values.grid) {
  writeFileSync(args.values.grid, styleGrid());
  console.log(`wrote ${args.values.grid}`);
}

/**
 * A picture of the styles: per style a row of PAIRS (test digit, restyled),
 * then per pen width a row of (test digit, redrawn); ink dark on white,
 * each pixel ZOOM×ZOOM, pairs on a light grey ground.
 */
function styleGrid(): Uint8Array {
  const PAIRS = 8;
  const ZOOM = 3;
  const GAP = 4;
  const rows: [string, Make, number[]][] = [];
  for (const [label, names] of Object.entries(STYLES))
    for (const name of names) rows.push([`${label} ${name}`, (src, n, l, out) => applyStyle(src, l, name, S, rng(n), out), [Number(label)]]);
  for (const w of [1, 2, 3, 4]) rows.push([`pen ${w} px`, pen(w), [2, 3, 5, 6]]);
  const cell = S * ZOOM;
  const W = PAIRS * (2 * cell + GAP) + GAP;
  const H = rows.length * (cell + GAP) + GAP;
  const png = new Uint8Array(W * H).fill(200);
  const put = (img: Uint8Array, x0: number, y0: number) => {
    for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) png[(y0 + y) * W + x0 + x] = 255 - img[Math.floor(y / ZOOM) * S + Math.floor(x / ZOOM)];
  };
  const out = new Uint8Array(S * S);
  rows.forEach(([name, make, classes], r) => {
    let k = 0;
    for (let n = 0; n < test.count && k < PAIRS; n++) {
      const label = test.labels[n];
      if (!classes.includes(label) || (classes.length > 1 && classes[k % classes.length] !== label)) continue;
      const src = test.pixels.subarray(n * S * S, (n + 1) * S * S);
      if (!make(src, n, label, out)) continue;
      const x0 = GAP + k * (2 * cell + GAP);
      const y0 = GAP + r * (cell + GAP);
      put(src, x0, y0);
      put(out, x0 + cell, y0);
      k++;
    }
    console.log(`grid row ${r + 1}: ${name} (${k} pairs)`);
  });
  return encodePng({ width: W, height: H, data: png, channels: 1, depth: 8 });
}

const sets = conditions.map(([name, make]) => [name, distorted(make)] as const);
const models = files.map((f) => decodeModel(readFileSync(f)));
const rows = sets.map(([name, split]) => [
  split.count === count ? name : `${name} (${split.count})`,
  ...models.map((m) => evaluate(m.network, split, m.inputScale, m.labels.length).accuracy.toFixed(4)),
]);
const mean = models.map((_, i) => (rows.slice(1).reduce((s, r) => s + Number(r[i + 1]), 0) / (rows.length - 1)).toFixed(4));
rows.push(["mean of the distorted", ...mean]);
const names = files.map((f) => basename(f, ".safetensors"));
console.log(table(["test digits", ...names], rows));
console.log(`${count} MNIST test digits per row, or as many as a row says`);
if (args.values.out) {
  const accuracy = rows.map(([condition, ...a]) => ({ condition, ...Object.fromEntries(names.map((m, i) => [m, Number(a[i])])) }));
  writeFileSync(args.values.out, `${JSON.stringify({ count, date: new Date().toISOString(), models: names, accuracy }, null, 2)}\n`);
  console.log(`wrote ${args.values.out}`);
}
