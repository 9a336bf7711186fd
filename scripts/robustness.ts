// npm run robustness [-- --count 10000] [--photos 100] [--batch 100] [--models a,b] [--weights name=file,...] [--parts digits,photos,blanks,numbers] [--variants rotated,tilt,...] [--out bench/robustness.json]
//
// How the digits models read pictures that are not MNIST's clean 28×28: the
// first --count MNIST test digits made into the robustness set
// (scripts/lib/robustness-set.ts: upscaled, off-centre, rotated, thicker,
// thinner, inverted, scanned), each encoded as PNG and as JPEG (quality 75),
// and sent through the app's own image endpoint in-process (createApp over
// weights/*.safetensors, or the files --weights names in their place, as
// multipart batches of --batch files). Prints a table
// of accuracy per variant and model, beside each model's accuracy on the same
// digits as raw pixels. Then phone photos of the same digits
// (scripts/lib/photos.ts: uneven light, ruled and squared paper, tinted
// paper, inks, pens, tilt, noise, blur, JPEG, sizes to 12 MP, EXIF-rotated),
// blank photos (which must all be refused as blank, 422), and numbers of 2-8
// MNIST test digits as drawings (PNG) and as photos (JPEG), read exactly or
// not. A photo of a digit the service refuses (422, e.g. as blank) counts as
// a miss. Photos, blanks and numbers are fewer than --count (--photos, BLANKS,
// NUMBERS below) to keep the run to minutes. A figure, not a test: nothing
// is asserted, and nothing is written unless --out names a file.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { createApp } from "../src/app";
import { toRgba } from "../src/image/raster";
import { ModelRegistry } from "../src/model/registry";
import { rng } from "../src/nn/random";
import { DATASET_HINT, datasetOfFile, datasetPresent, loadSplit, modelsOf } from "../test/fixtures/datasets";
import { command, fail } from "./lib/cli";
import { weightsFile } from "./lib/paths";
import { composeNumber, drawNumber, PAPER_VARIANTS, PHOTO_VARIANTS, photograph } from "./lib/photos";
import { digitInk, VARIANTS } from "./lib/robustness-set";
import { table } from "./lib/table";

const args = command({
  name: "robustness",
  usage:
    "usage: npm run robustness [-- --count 10000] [--photos 100] [--batch 100] [--models mnist-mlp,mnist-cnn] [--weights mnist-cnn=path/to/candidate.safetensors] [--parts digits,photos,blanks,numbers] [--variants rotated,tilt,...] [--out bench/robustness.json]\n" +
    "--count: the first COUNT test digits (all 10000 by default: on 1000, two models 0.1-0.4 points apart differ by 1-4 digits, within chance; --count 1000 is a quick look)\n" +
    "--photos: the first PHOTOS test digits photographed per photo variant (100 by default, or --count if fewer; each photo takes about 0.6 s to make and read with two models, so 1000 is a run of hours)\n" +
    "--weights: a trained file served in place of a catalog model's bundled one (to compare a candidate before it replaces weights/)\n" +
    "--parts: which parts run (all four by default); --variants: which digit and photo variants (all by default). Each figure is per part and variant, so a long run can be split across processes, one per core",
  options: {
    count: { type: "string", default: "10000" },
    photos: { type: "string" },
    batch: { type: "string", default: "100" },
    models: { type: "string" },
    weights: { type: "string" },
    parts: { type: "string" },
    variants: { type: "string" },
    out: { type: "string" },
  },
});
const v = args.values;
if (!datasetPresent("mnist", "test")) fail(`the MNIST test files are missing: ${DATASET_HINT.mnist}`);
const test = loadSplit("mnist", "test");
const count = args.integer("count", { min: 1, max: test.count });
const batch = args.integer("batch", { min: 1 });

// The digits models: the catalog's (or those of them --models names), each
// checked against what its metadata says.
const digits: string[] = modelsOf("mnist");
const chosen = v.models ? v.models.split(",").map((m) => m.trim()) : digits;
for (const m of chosen) if (!digits.includes(m)) fail(`--models: "${m}" is not a digits model of the catalog (${digits.join(", ")})`);
const replaced: Record<string, string> = {};
for (const pair of v.weights ? v.weights.split(",") : []) {
  const [name, path] = pair.split("=");
  if (!path || !chosen.includes(name.trim())) fail(`--weights: "${pair}" is not NAME=FILE with NAME one of ${chosen.join(", ")}`);
  if (!existsSync(path.trim())) fail(`--weights: ${path.trim()} not found`);
  replaced[name.trim()] = path.trim();
}
const PARTS = ["digits", "photos", "blanks", "numbers"] as const;
const parts = v.parts ? v.parts.split(",").map((p) => p.trim()) : [...PARTS];
for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) fail(`--parts: "${p}" is not one of ${PARTS.join(", ")}`);
const runs = (part: (typeof PARTS)[number]) => parts.includes(part);
const variantNames = [...VARIANTS, ...PHOTO_VARIANTS].map((x) => x.name);
const variants = v.variants ? v.variants.split(",").map((n) => n.trim()) : variantNames;
for (const n of variants) if (!variantNames.includes(n)) fail(`--variants: "${n}" is not one of ${variantNames.join(", ")}`);
const files: Record<string, ArrayBuffer> = {};
for (const name of chosen) {
  const file = replaced[name] ?? weightsFile(name);
  const bytes = readFileSync(file);
  if (datasetOfFile(bytes) !== "mnist") fail(`${file}: its metadata does not say dataset mnist, as src/model/catalog.ts does`);
  files[name] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}
const models = Object.keys(files).sort();
if (models.length === 0) fail("no digits model (dataset mnist) in src/model/catalog.ts");
const app = createApp(new ModelRegistry(files, models[0]));

/** The labels a model gives a batch; null where the answer is a 422 (a picture refused, e.g. as blank). */
async function tryPredict(model: string, init: RequestInit): Promise<number[] | null> {
  const res = await app.request(`http://localhost/v1/models/${model}/predict?output=label`, init);
  const body = (await res.json()) as { labels?: number[]; predictions?: { label: number }[]; detail?: string };
  if (res.status === 422) return null;
  if (res.status !== 200) throw new Error(`${model}: ${res.status} ${body.detail}`);
  return body.labels ?? (body.predictions ?? []).map((p) => p.label);
}

async function predict(model: string, init: RequestInit): Promise<number[]> {
  const labels = await tryPredict(model, init);
  if (!labels) throw new Error(`${model}: a picture of the set was refused (422)`);
  return labels;
}

/** REFUSED stands for a photo the service refused (422): a miss, as a wrong digit is. */
const REFUSED = -1;

/**
 * The labels a model gives photos sent as one multipart batch (named from
 * `first` on). A refused photo refuses its whole batch, so a refused batch
 * is sent again a photo at a time, to find which.
 */
async function photoLabels(model: string, photos: Blob[], first: number): Promise<number[]> {
  const form = (fs: Blob[], at: number) => {
    const f = new FormData();
    fs.forEach((b, k) => {
      f.append("image", b, `${at + k}.jpg`);
    });
    return f;
  };
  const all = await tryPredict(model, { method: "POST", body: form(photos, first) });
  if (all) return all;
  const one: number[] = [];
  for (const [k, b] of photos.entries()) one.push((await tryPredict(model, { method: "POST", body: form([b], first + k) }))?.[0] ?? REFUSED);
  return one;
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
for (const variant of runs("digits") ? VARIANTS.filter((x) => variants.includes(x.name)) : []) {
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

// Photos: each at most this many per variant (the 12 MP one fewer), blank
// photos per kind of paper, and numbers of each kind.
const PHOTOS = v.photos === undefined ? Math.min(count, 100) : args.integer("photos", { min: 1, max: test.count });
const PHOTOS_12MP = Math.min(PHOTOS, 10);
const BLANKS = Math.min(count, 30);
const NUMBERS = Math.min(count, 100);

/** Files sent together, within the body and pixel limits (a 12 MP JPEG is 1-3 MB). */
function batches(files: Blob[]): Blob[][] {
  const out: Blob[][] = [];
  let cur: Blob[] = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length > 0 && (cur.length === batch || bytes + f.size > 6 * 2 ** 20)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

type PhotoRow = { variant: string; n: number; what: string; accuracy: Record<string, number> };
const photoRows: PhotoRow[] = [];
for (const variant of runs("photos") ? PHOTO_VARIANTS.filter((x) => variants.includes(x.name)) : []) {
  const n = variant.name === "12 MP" ? PHOTOS_12MP : PHOTOS;
  const t0 = performance.now();
  const files = Array.from({ length: n }, (_, i) => {
    const rand = rng(100_000 + i);
    const bytes = photograph(digitInk(test.pixels.subarray(i * 784, i * 784 + 784)), variant.scene(rand), rand);
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "image/jpeg" });
  });
  const t1 = performance.now();
  const accuracyOf: Record<string, number> = {};
  const missed: Record<string, string[]> = {};
  for (const m of models) {
    const labels: number[] = [];
    for (const b of n === PHOTOS_12MP && variant.name === "12 MP" ? files.map((f) => [f]) : batches(files)) {
      labels.push(...(await photoLabels(m, b, labels.length)));
    }
    accuracyOf[m] = labels.filter((l, i) => l === test.labels[i]).length / n;
    missed[m] = labels.flatMap((l, i) => (l === test.labels[i] ? [] : [`#${i} ${test.labels[i]}→${l === REFUSED ? "refused" : l}`]));
  }
  const t2 = performance.now();
  photoRows.push({ variant: variant.name, n, what: variant.what, accuracy: accuracyOf });
  console.error(
    `photo ${variant.name}: ${models.map((m) => `${m} ${pct(accuracyOf[m])}`).join(", ")} (made in ${((t1 - t0) / 1000).toFixed(0)} s, read in ${((t2 - t1) / 1000).toFixed(0)} s)` +
      models.map((m) => (missed[m].length ? `\n  ${m} missed ${missed[m].join(", ")}` : "")).join(""),
  );
}

// Blank photos: paper with nothing written must be a 422 (blank), never a digit.
type BlankRow = { paper: string; n: number; refused: number; answered: string[] };
const blankRows: BlankRow[] = [];
for (const variant of runs("blanks") ? PAPER_VARIANTS : []) {
  const row: BlankRow = { paper: variant.name, n: BLANKS, refused: 0, answered: [] };
  for (let i = 0; i < BLANKS; i++) {
    const rand = rng(200_000 + i);
    const bytes = photograph(null, variant.scene(rand), rand);
    const res = await app.request(`http://localhost/v1/models/${models[0]}/predict?output=label`, {
      method: "POST",
      headers: { "Content-Type": "image/jpeg" },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    if (res.status === 422) row.refused++;
    else row.answered.push(`#${i} ${res.status}`);
    await res.body?.cancel();
  }
  blankRows.push(row);
  console.error(`blank ${variant.name}: ${row.refused} of ${BLANKS} refused${row.answered.length ? ` (answered: ${row.answered.join(", ")})` : ""}`);
}

/**
 * The digits a model reads in a picture of a number, as text, through POST
 * /v1/models/{model}/read (decoded, cut into digits by src/image/segment.ts,
 * one forward pass). Refused pictures (a 4xx) read as "".
 */
async function readNumber(model: string, bytes: Uint8Array, type: string): Promise<string> {
  const res = await app.request(`http://localhost/v1/models/${model}/read?top_k=0`, {
    method: "POST",
    headers: { "Content-Type": type },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  const body = (await res.json()) as { text?: string; detail?: string };
  if (res.status >= 500) throw new Error(`${model}: ${res.status} ${body.detail}`);
  return res.status === 200 ? (body.text ?? "") : "";
}

type NumberRow = { kind: string; n: number; exact: Record<string, number>; digitCount: number };
const numberRows: NumberRow[] = [];
for (const kind of runs("numbers") ? (["drawing", "photo"] as const) : []) {
  const row: NumberRow = { kind, n: NUMBERS, exact: Object.fromEntries(models.map((m) => [m, 0])), digitCount: 0 };
  for (let i = 0; i < NUMBERS; i++) {
    const rand = rng(300_000 + i);
    const len = 2 + Math.floor(rand() * 7);
    const idx = Array.from({ length: len }, () => Math.floor(rand() * test.count));
    const num = composeNumber(
      idx.map((j) => test.pixels.subarray(j * 784, j * 784 + 784)),
      idx.map((j) => test.labels[j]),
      rand,
    );
    const drawing = drawNumber(num);
    const [bytes, type] =
      kind === "drawing"
        ? [encodePng({ width: drawing.width, height: drawing.height, data: drawing.data, channels: 1, depth: 8 }), "image/png"]
        : [photograph(num.ink, PHOTO_VARIANTS[Math.floor(rand() * 8)].scene(rand), rand), "image/jpeg"];
    row.digitCount += len;
    for (const m of models) if ((await readNumber(m, bytes, type)) === num.text) row.exact[m]++;
  }
  numberRows.push(row);
  console.error(`numbers as ${kind}s: ${models.map((m) => `${m} ${pct(row.exact[m] / NUMBERS)}`).join(", ")}`);
}

const overall = Object.fromEntries(models.map((m) => [m, rows.reduce((s, r) => s + r.accuracy[m], 0) / rows.length]));
// Each part's table, for the parts that ran.
if (rows.length) {
  console.log(
    `Robustness set: the first ${count} MNIST test digits, ${rows.length / 2} variants × PNG and JPEG (q75), through POST /v1/models/{model}/predict`,
  );
  console.log(
    table(
      ["variant", "format", ...models, "what"],
      [
        ...rows.map((r) => [r.variant, r.format, ...models.map((m) => pct(r.accuracy[m])), r.what]),
        [v.variants ? "these variants" : "all variants", "both", ...models.map((m) => pct(overall[m])), "mean of the rows above"],
        ["plain", "raw pixels", ...models.map((m) => pct(plain[m])), "the same digits as 784 bytes, no preprocessing"],
      ],
    ),
  );
}
if (photoRows.length) {
  console.log(
    `\nPhotos: the first ${PHOTOS} MNIST test digits (${PHOTOS_12MP} at 12 MP) photographed (scripts/lib/photos.ts), JPEG, through POST /v1/models/{model}/predict`,
  );
  console.log(
    table(
      ["photo variant", "images", ...models, "what"],
      photoRows.map((r) => [r.variant, String(r.n), ...models.map((m) => pct(r.accuracy[m])), r.what]),
    ),
  );
}
if (blankRows.length) {
  console.log(`\nBlank photos: ${BLANKS} of each kind of paper with nothing written; each must be a 422`);
  console.log(
    table(
      ["paper", "photos", "refused (422)", "answered"],
      blankRows.map((r) => [r.paper, String(r.n), String(r.refused), r.answered.join(" ") || "none"]),
    ),
  );
}
if (numberRows.length) {
  console.log(`\nNumbers: ${NUMBERS} numbers of 2-8 MNIST test digits, read exactly through POST /v1/models/{model}/read (one forward pass per picture)`);
  console.log(
    table(
      ["as", "numbers", "digits", ...models],
      numberRows.map((r) => [r.kind, String(r.n), String(r.digitCount), ...models.map((m) => pct(r.exact[m] / r.n))]),
    ),
  );
}
if (v.out) {
  writeFileSync(
    v.out,
    `${JSON.stringify({ count, date: new Date().toISOString(), models, parts, variants, plain, overall: rows.length ? overall : undefined, rows, photos: photoRows, blanks: blankRows, numbers: numberRows }, null, 2)}\n`,
  );
  console.log(`wrote ${v.out}`);
}
