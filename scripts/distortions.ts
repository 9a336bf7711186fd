// npm run distortions [-- --weights a.safetensors,b.safetensors] [--limit N] [--out bench/distortions.json]
// Accuracy of digit models on the MNIST test digits distorted one way at a
// time, with the trainer's own augmentation (scripts/lib/augment.ts): tilted,
// larger, smaller, bolder, finer, wobblier, off-centre. A quick proxy for
// drawn and scanned digits; the images are made here, and nothing is written
// unless --out names a file. Without --weights, the bundled digits models
// (the catalog's mnist ones).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { decodeModel } from "../src/model/format";
import { rng } from "../src/nn/random";
import { DATASET_HINT, datasetPresent, loadSplit, modelsOf, type Split } from "../test/fixtures/datasets";
import { augment, elasticField, HANDWRITTEN, IDENTITY, type Warp } from "./lib/augment";
import { command, fail } from "./lib/cli";
import { evaluate } from "./lib/evaluate";
import { weightsFile } from "./lib/paths";
import { table } from "./lib/table";

const args = command({
  name: "distortions",
  usage: "usage: npm run distortions [-- --weights a.safetensors,b.safetensors] [--limit N] [--out bench/distortions.json]",
  options: { weights: { type: "string" }, limit: { type: "string" }, out: { type: "string" } },
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
const conditions: [string, (n: number) => Warp][] = [
  ["clean", () => IDENTITY],
  ["rotated +15°", () => ({ ...IDENTITY, angle: 15 * deg })],
  ["rotated -15°", () => ({ ...IDENTITY, angle: -15 * deg })],
  ["scaled 0.8", () => ({ ...IDENTITY, scale: 0.8 })],
  ["scaled 1.2", () => ({ ...IDENTITY, scale: 1.2 })],
  ["thicker (dilated)", () => ({ ...IDENTITY, thickness: 1 })],
  ["thinner (eroded 0.7)", () => ({ ...IDENTITY, thickness: -0.7 })],
  ["elastic α30 σ5", (n) => ({ ...IDENTITY, field: fields[n % fields.length] })],
  ["shifted (3, 2) px", () => ({ ...IDENTITY, dx: 3, dy: 2 })],
];

function distorted(warp: (n: number) => Warp): Split {
  const pixels = new Uint8Array(count * S * S);
  for (let n = 0; n < count; n++) augment(test.pixels.subarray(n * S * S, (n + 1) * S * S), S, warp(n), pixels.subarray(n * S * S, (n + 1) * S * S));
  return { count, pixels, labels: test.labels.subarray(0, count) };
}

const sets = conditions.map(([name, warp]) => [name, distorted(warp)] as const);
const models = files.map((f) => decodeModel(readFileSync(f)));
const rows = sets.map(([name, split]) => [name, ...models.map((m) => evaluate(m.network, split, m.inputScale, m.labels.length).accuracy.toFixed(4))]);
const mean = models.map((_, i) => (rows.slice(1).reduce((s, r) => s + Number(r[i + 1]), 0) / (rows.length - 1)).toFixed(4));
rows.push(["mean of the distorted", ...mean]);
const names = files.map((f) => basename(f, ".safetensors"));
console.log(table(["test digits", ...names], rows));
console.log(`${count} MNIST test digits per row`);
if (args.values.out) {
  const accuracy = rows.map(([condition, ...a]) => ({ condition, ...Object.fromEntries(names.map((m, i) => [m, Number(a[i])])) }));
  writeFileSync(args.values.out, `${JSON.stringify({ count, date: new Date().toISOString(), models: names, accuracy }, null, 2)}\n`);
  console.log(`wrote ${args.values.out}`);
}
