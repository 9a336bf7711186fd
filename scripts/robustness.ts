// npm run robustness [-- --count 1000] [--batch 100] [--out bench/robustness.json]
//
// How the digits models read pictures that are not MNIST's clean 28×28: the
// first --count MNIST test digits made into the robustness set
// (scripts/lib/robustness-set.ts: upscaled, off-centre, rotated, thicker,
// thinner, inverted, scanned), each encoded as PNG and as JPEG (quality 75),
// and sent through the app's own image endpoint in-process (createApp over
// weights/*.safetensors, multipart batches of --batch files). Prints a table
// of accuracy per variant and model, beside each model's accuracy on the same
// digits as raw pixels. A figure, not a test: nothing is asserted, and
// nothing is written unless --out names a file.
import { readFileSync, writeFileSync } from "node:fs";
import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { createApp } from "../src/app";
import { toRgba } from "../src/image/raster";
import { ModelRegistry } from "../src/model/registry";
import { rng } from "../src/nn/random";
import { DATASET_HINT, datasetOfFile, datasetPresent, loadSplit, modelsOf } from "../test/fixtures/datasets";
import { command, fail } from "./lib/cli";
import { weightsFile } from "./lib/paths";
import { VARIANTS } from "./lib/robustness-set";
import { table } from "./lib/table";

const args = command({
  name: "robustness",
  usage: "usage: npm run robustness [-- --count 1000] [--batch 100] [--out bench/robustness.json]",
  options: { count: { type: "string", default: "1000" }, batch: { type: "string", default: "100" }, out: { type: "string" } },
});
const v = args.values;
if (!datasetPresent("mnist", "test")) fail(`the MNIST test files are missing: ${DATASET_HINT.mnist}`);
const test = loadSplit("mnist", "test");
const count = args.integer("count", { min: 1, max: test.count });
const batch = args.integer("batch", { min: 1 });

// The digits models: the catalog's, each checked against what its metadata says.
const files: Record<string, ArrayBuffer> = {};
for (const name of modelsOf("mnist")) {
  const bytes = readFileSync(weightsFile(name));
  if (datasetOfFile(bytes) !== "mnist") fail(`${weightsFile(name)}: its metadata does not say dataset mnist, as src/model/catalog.ts does`);
  files[name] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}
const models = Object.keys(files).sort();
if (models.length === 0) fail("no digits model (dataset mnist) in src/model/catalog.ts");
const app = createApp(new ModelRegistry(files, models[0]));

async function predict(model: string, init: RequestInit): Promise<number[]> {
  const res = await app.request(`http://localhost/v1/models/${model}/predict?output=label`, init);
  const body = (await res.json()) as { labels?: number[]; predictions?: { label: number }[]; detail?: string };
  if (res.status !== 200) throw new Error(`${model}: ${res.status} ${body.detail}`);
  return body.labels ?? (body.predictions ?? []).map((p) => p.label);
}

function accuracy(labels: number[]): number {
  let right = 0;
  labels.forEach((l, i) => {
    if (l === test.labels[i]) right++;
  });
  return right / count;
}

const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
const plain: Record<string, number> = {};
for (const m of models) {
  plain[m] = accuracy(await predict(m, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: test.pixels.slice(0, count * 784) }));
}

type Row = { variant: string; format: string; what: string; accuracy: Record<string, number> };
const rows: Row[] = [];
for (const variant of VARIANTS) {
  for (const format of ["png", "jpeg"] as const) {
    const t0 = performance.now();
    const encoded: Blob[] = [];
    for (let i = 0; i < count; i++) {
      const img = variant.make(test.pixels.subarray(i * 784, i * 784 + 784), rng(i + 1));
      const bytes =
        format === "png"
          ? encodePng({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 })
          : new Uint8Array(encodeJpeg({ width: img.width, height: img.height, data: toRgba(img) }, 75).data);
      encoded.push(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: `image/${format}` }));
    }
    const t1 = performance.now();
    const accuracyOf: Record<string, number> = {};
    for (const m of models) {
      const labels: number[] = [];
      for (let s = 0; s < count; s += batch) {
        const form = new FormData();
        encoded.slice(s, s + batch).forEach((b, k) => {
          form.append("image", b, `${s + k}.${format}`);
        });
        labels.push(...(await predict(m, { method: "POST", body: form })));
      }
      accuracyOf[m] = accuracy(labels);
    }
    const t2 = performance.now();
    rows.push({ variant: variant.name, format, what: variant.what, accuracy: accuracyOf });
    console.error(
      `${variant.name} ${format}: ${models.map((m) => `${m} ${pct(accuracyOf[m])}`).join(", ")} (made in ${((t1 - t0) / 1000).toFixed(0)} s, read in ${((t2 - t1) / 1000).toFixed(0)} s)`,
    );
  }
}

const overall = Object.fromEntries(models.map((m) => [m, rows.reduce((s, r) => s + r.accuracy[m], 0) / rows.length]));
console.log(`Robustness set: the first ${count} MNIST test digits, ${VARIANTS.length} variants × PNG and JPEG (q75), through POST /v1/models/{model}/predict`);
console.log(
  table(
    ["variant", "format", ...models, "what"],
    [
      ...rows.map((r) => [r.variant, r.format, ...models.map((m) => pct(r.accuracy[m])), r.what]),
      ["all variants", "both", ...models.map((m) => pct(overall[m])), "mean of the rows above"],
      ["plain", "raw pixels", ...models.map((m) => pct(plain[m])), "the same digits as 784 bytes, no preprocessing"],
    ],
  ),
);
if (v.out) {
  writeFileSync(v.out, `${JSON.stringify({ count, date: new Date().toISOString(), models, plain, overall, rows }, null, 2)}\n`);
  console.log(`wrote ${v.out}`);
}
