// npm run bench [-- --rounds 3 --single 1000 --models a,b --batches 1,100]
// The forward pass against the libraries a user would otherwise reach for,
// in one Node process, on the same weights and the same 10000 test images:
// ours (the Wasm kernel, and the JS kernel), onnxruntime-web (wasm, one
// thread) and @tensorflow/tfjs-backend-wasm (one thread). Ours runs as the
// service does: the model decoded from its file, fed the raw pixel bytes
// (forwardPixels, input_scale 255; an I8 model's first layer then runs in
// whole numbers); the peers get the float inputs pixels / 255. The networks: every
// bundled model, and the book's two convolutional networks imported from
// their pickles (not bundled; skipped with the reason when the files are
// absent). Each peer's probabilities are first held within 1e-4 of ours on
// 100 images. Prints µs per image at batch 1, 100 and 10000 (best of --rounds
// interleaved rounds, after one untimed pass), each peer's time over ours, and the accuracy each got;
// a full run (no --models or --batches) writes BENCHMARKS.md and
// bench/results.json. Figures are printed, never asserted.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, cpus, loadavg, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import { type Dataset, MODEL_NAMES, MODELS } from "../src/model/catalog";
import { decodeModel } from "../src/model/format";
import type { Backend } from "../src/nn/backend";
import { JsBackend } from "../src/nn/backends";
import { convOutput } from "../src/nn/conv";
import { argmax } from "../src/nn/functions";
import { type Network, pixelsToInput } from "../src/nn/network";
import { createWasmBackend } from "../src/nn/wasm";
import { DATASET_DIRS, datasetPresent, loadSplit } from "../test/fixtures/datasets";
import { main as importMain } from "./import";
import { command, fail } from "./lib/cli";
import { ORT_VERSION, ortSession } from "./lib/ort";
import { BENCH_DIR, BOOK_WEIGHTS, ROOT, weightsFile } from "./lib/paths";
import { table } from "./lib/table";

const args = command({
  name: "bench",
  usage:
    "usage: npm run bench [-- --rounds 3] [--single 1000] [--models a,b] [--batches 1,100]   (rounds: interleaved rounds, the best kept; single: images run one at a time; models, batches: run only these, print without writing the files)",
  options: {
    rounds: { type: "string", default: "3" },
    single: { type: "string", default: "1000" },
    models: { type: "string" },
    batches: { type: "string" },
  },
});
const rounds = args.integer("rounds", { min: 1 });
const single = args.integer("single", { min: 1, max: 10000 });
const only = args.values.models?.split(",").map((s) => s.trim());
const partial = only !== undefined || args.values.batches !== undefined;

const BATCHES = (args.values.batches ?? "1,100,10000").split(",").map(Number);
for (const b of BATCHES)
  if (!Number.isSafeInteger(b) || b < 1 || 10000 % b !== 0) fail(`--batches: ${b} does not divide 10000; give batch sizes such as 1,100,10000`);
const require = createRequire(import.meta.url);
const version = (pkg: string) => (JSON.parse(readFileSync(join(dirname(require.resolve(pkg)), "..", "package.json"), "utf8")) as { version: string }).version;

/** One implementation: runs a batch, given as floats x (N, D) and as the pixels (N, D) they came from, and returns the probabilities (N, C). */
type Run = (x: Float32Array, pixels: Uint8Array, N: number) => Float32Array | Promise<Float32Array>;
/** What an implementation is built from: the network as plain F32 arrays, and the file it was decoded from with its input scale. */
interface Source {
  net: Network;
  bytes: Uint8Array;
  scale: number;
}
interface Impl {
  name: string;
  prepare(src: Source): Promise<Run>;
}

setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`);
setThreadsCount(1);
await tf.setBackend("wasm");

/** Ours, as the service runs it: the file decoded into a backend of its own, fed the pixels. */
const oursIn = (backend: Backend): Impl => ({
  name: `ours (${backend.name})`,
  prepare: async ({ bytes, scale }) => {
    const { network } = decodeModel(bytes, backend);
    return (_x, pixels, N) => network.forwardPixels(pixels, N, scale);
  },
});
const oursJs = oursIn(new JsBackend());
const oursJsName = oursJs.name;
const IMPLS: Impl[] = [
  oursIn(createWasmBackend() ?? new JsBackend()),
  oursJs,
  {
    name: `onnxruntime-web ${ORT_VERSION}`,
    prepare: async ({ net }) => {
      const run = await ortSession(net);
      return (x, _pixels, N) => run(x, N);
    },
  },
  {
    name: `tfjs-backend-wasm ${version("@tensorflow/tfjs-backend-wasm")}`,
    prepare: async ({ net }) => {
      const run = tfjsRun(net);
      return (x, _pixels, N) => run(x, N);
    },
  },
];

const act = (name: string, a: tf.Tensor): tf.Tensor =>
  name === "sigmoid" ? tf.sigmoid(a) : name === "relu" ? tf.relu(a) : name === "softmax" ? tf.softmax(a) : a;

/**
 * The network as tfjs operations. Its Wasm backend takes convolutions only
 * channels last (NHWC): the filters are transposed to (KH, KW, C, F) once,
 * the input is reshaped (one channel) or transposed per batch, and the rows
 * of the dense layer after the last convolution are reordered to read the
 * NHWC flatten, so no activation is transposed back. Each convolution is
 * fused.conv2d with its bias and ReLU, then maxPool.
 */
function tfjsRun(net: Network): (x: Float32Array, N: number) => Float32Array {
  const steps: ((z: tf.Tensor) => tf.Tensor)[] = [];
  // The planes [H, W, C] the last step left, while they are planes.
  let planes: [number, number, number] | undefined;
  for (const l of net.layers) {
    const { scale, pool } = l;
    if (scale !== undefined) steps.push((z) => tf.mul(z, scale));
    if (l.conv) {
      const { C, IH, IW, F, KH, KW, stride, pad } = l.conv;
      if (!planes) steps.push((z) => (C === 1 ? tf.reshape(z, [-1, IH, IW, 1]) : tf.transpose(tf.reshape(z, [-1, C, IH, IW]), [0, 2, 3, 1])));
      const f = new Float32Array(l.W.length);
      for (let o = 0; o < F; o++) for (let c = 0; c < C; c++) for (let k = 0; k < KH * KW; k++) f[(k * C + c) * F + o] = l.W[(o * C + c) * KH * KW + k];
      const filter = tf.tensor4d(f, [KH, KW, C, F]);
      const bias = tf.tensor1d(l.b);
      const relu = l.activation === "relu";
      steps.push((z) => {
        const a = tf.fused.conv2d({ x: z as tf.Tensor4D, filter, strides: stride, pad, dimRoundingMode: "floor", bias, activation: relu ? "relu" : "linear" });
        return relu ? a : act(l.activation, a);
      });
      if (pool) steps.push((z) => tf.maxPool(z as tf.Tensor4D, pool, pool, "valid"));
      const [OH, OW] = convOutput(l.conv);
      planes = [Math.floor(OH / (pool ?? 1)), Math.floor(OW / (pool ?? 1)), F];
      continue;
    }
    let W = l.W;
    if (planes) {
      // Ours flattens (c, y, x); NHWC flattens (y, x, c).
      const [H, Wd, C] = planes;
      W = new Float32Array(l.W.length);
      for (let c = 0; c < C; c++)
        for (let p = 0; p < H * Wd; p++) W.set(l.W.subarray((c * H * Wd + p) * l.outSize, (c * H * Wd + p + 1) * l.outSize), (p * C + c) * l.outSize);
      steps.push((z) => tf.reshape(z, [-1, l.inSize]));
      planes = undefined;
    }
    const Wt = tf.tensor2d(W, [l.inSize, l.outSize]);
    const b = tf.tensor1d(l.b);
    steps.push((z) => act(l.activation, tf.add(tf.matMul(z as tf.Tensor2D, Wt), b)));
  }
  const D = net.layers[0].inSize;
  return (x, N) => {
    const y = tf.tidy(() => steps.reduce((z, step) => step(z), tf.tensor2d(x, [N, D]) as tf.Tensor));
    const data = y.dataSync() as Float32Array;
    y.dispose();
    return data;
  };
}

/** One network to measure: its file's bytes and the data set it reads. */
interface BenchModel {
  name: string;
  dataset: Dataset;
  bytes: Uint8Array;
}

/** The book's convolutional networks, imported from their pickles beside the book's chapter-3 weights. */
const BOOK_CONVNETS = [
  { name: "book-simple-convnet", file: "simple_convnet_params.pkl" },
  { name: "book-deep-convnet", file: "deep_convnet_params.pkl" },
];

/** Every bundled model, then each book convnet whose pickle is present, imported by `npm run import` into a temp folder. */
function benchModels(): BenchModel[] {
  const models: BenchModel[] = MODEL_NAMES.map((name) => ({ name, dataset: MODELS[name].dataset, bytes: readFileSync(weightsFile(name)) }));
  const dir = mkdtempSync(join(tmpdir(), "bench-import-"));
  try {
    for (const { name, file } of BOOK_CONVNETS) {
      if (only && !only.includes(name)) continue;
      const pkl = join(dirname(BOOK_WEIGHTS), file);
      if (!existsSync(pkl)) {
        console.log(`${name}: skipped, ${pkl} is absent (see ../shared/data/README)`);
        continue;
      }
      const out = join(dir, `${name}.safetensors`);
      const errors: string[] = [];
      const code = importMain([pkl, "--name", name, "--out", out], { out: () => {}, err: (e) => errors.push(e) });
      if (code !== 0) {
        console.log(`${name}: skipped, the import failed: ${errors.join("; ")}`);
        continue;
      }
      models.push({ name, dataset: "mnist", bytes: readFileSync(out) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return only ? models.filter((m) => only.includes(m.name)) : models;
}

interface Cell {
  model: string;
  batch: number;
  impl: string;
  usPerImage: number;
}
const best = new Map<string, Cell>();
const accuracy: Record<string, Record<string, number>> = {};

/** µs per image of `run` at this batch size over the first `total` images. */
async function time(run: Run, x: Float32Array, pixels: Uint8Array, D: number, batch: number, total: number): Promise<{ us: number; y?: Float32Array }> {
  const t0 = performance.now();
  let y: Float32Array | undefined;
  for (let n = 0; n < total; n += batch) y = await run(x.subarray(n * D, (n + batch) * D), pixels.subarray(n * D, (n + batch) * D), batch);
  return { us: ((performance.now() - t0) * 1000) / total, y: batch === total ? y : undefined };
}

/** The largest absolute difference between two arrays. */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const MODELS_RUN = benchModels();
for (const { name, dataset, bytes } of MODELS_RUN) {
  if (!datasetPresent(dataset, "test")) {
    console.log(`${name}: skipped, no ${dataset} test set in ${DATASET_DIRS[dataset]}`);
    continue;
  }
  // Decoded in JS: every implementation gets the same F32 weights as plain arrays.
  const model = decodeModel(bytes, new JsBackend());
  const split = loadSplit(dataset, "test");
  const x = pixelsToInput(split.pixels, model.inputScale);
  const D = model.sizes[0];
  const C = model.labels.length;
  const runs = await Promise.all(IMPLS.map((impl) => impl.prepare({ net: model.network.toNetwork(), bytes, scale: model.inputScale })));
  const convolutional = model.network.toNetwork().layers.some((l) => l.conv);
  // Before any timing: every implementation computes what ours does, on 100 images.
  const probe = x.subarray(0, 100 * D);
  const probePixels = split.pixels.subarray(0, 100 * D);
  const want = await runs[0](probe, probePixels, 100);
  for (let i = 1; i < IMPLS.length; i++) {
    const d = maxAbsDiff(await runs[i](probe, probePixels, 100), want);
    if (!(d <= 1e-4))
      throw new Error(`${name}: ${IMPLS[i].name} differs from ${IMPLS[0].name} by ${d} (max abs, probabilities of 100 images); its graph is wrong`);
  }
  accuracy[name] = {};
  // Untimed, once: every Wasm implementation runs each batch size below 10000 on the images a round gives it, so
  // the rounds time code V8 has already tiered up (a module's first calls run its baseline compile, several times
  // slower, until the optimised one is ready) rather than whichever tier a busy machine had compiled by then.
  for (const batch of BATCHES.filter((b) => b < 10000))
    for (let i = 0; i < IMPLS.length; i++) {
      if (IMPLS[i].name === oursJsName) continue;
      await time(runs[i], x, split.pixels, D, batch, batch === 1 || convolutional ? Math.max(batch, Math.floor(single / batch) * batch) : 10000);
    }
  for (let r = 0; r < rounds; r++) {
    // Interleaved: every implementation runs once per round, so a slow spell of the machine hits them all.
    for (const batch of BATCHES) {
      for (let i = 0; i < IMPLS.length; i++) {
        // The convnets cost 10 to 100 times more per image: below 10000 they run the first `single` images,
        // and the JS kernel (seconds per batch of 10000) sits their batch of 10000 out.
        if (convolutional && batch === 10000 && IMPLS[i].name === oursJsName) continue;
        const total = batch === 10000 ? 10000 : batch === 1 || convolutional ? Math.max(batch, Math.floor(single / batch) * batch) : 10000;
        const { us, y } = await time(runs[i], x, split.pixels, D, batch, total);
        const key = `${name}/${batch}/${IMPLS[i].name}`;
        if (us < (best.get(key)?.usPerImage ?? Infinity)) best.set(key, { model: name, batch, impl: IMPLS[i].name, usPerImage: us });
        if (y) {
          const labels = argmax(y, C);
          accuracy[name][IMPLS[i].name] = labels.reduce((s, l, k) => s + (l === split.labels[k] ? 1 : 0), 0);
        }
      }
    }
    process.stdout.write(`${name}: round ${r + 1}/${rounds} (load average ${loadavg()[0].toFixed(2)})\n`);
  }
}

// The table: per model and batch, µs/image of each, and each peer's time over ours (Wasm).
const [ours, , ...peers] = IMPLS.map((i) => i.name);
// Ours is fed the u8 pixels (forwardPixels), the peers the floats pixels / 255.
const head = [
  "network",
  "batch",
  ...IMPLS.map((i) => `${i.name}${i.name.startsWith("ours") ? " from u8 pixels" : " from f32"} µs/image`),
  ...peers.map((p) => `${p.split(" ")[0]} ÷ ours`),
];
const rows: string[][] = [];
for (const { name } of MODELS_RUN) {
  for (const batch of BATCHES) {
    const us = IMPLS.map((i) => best.get(`${name}/${batch}/${i.name}`)?.usPerImage);
    if (us[0] === undefined) continue;
    rows.push([
      name,
      String(batch),
      ...us.map((u) => (u === undefined ? "-" : u.toFixed(2))),
      ...us.slice(2).map((u) => (u === undefined ? "-" : `${(u / (us[0] as number)).toFixed(2)}×`)),
    ]);
  }
}
const accHead = ["network", ...IMPLS.map((i) => i.name)];
const accRows = Object.entries(accuracy).map(([name, a]) => [name, ...IMPLS.map((i) => String(a[i.name] ?? "-"))]);
console.log(table(head, rows));
console.log("correct of 10000 test images");
console.log(table(accHead, accRows));

if (partial) {
  console.log("--models or --batches given: BENCHMARKS.md and bench/results.json left as they were");
  process.exit(0);
}
const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  platform: `${platform()} ${arch()}`,
  node: process.version,
  v8: process.versions.v8,
  loadavg: loadavg().map((l) => Number(l.toFixed(2))),
};
const versions = { "onnxruntime-web": version("onnxruntime-web"), "@tensorflow/tfjs-backend-wasm": version("@tensorflow/tfjs-backend-wasm") };
const date = new Date().toISOString();
const BENCHMARKS = join(ROOT, "BENCHMARKS.md");
mkdirSync(BENCH_DIR, { recursive: true });
writeFileSync(
  join(BENCH_DIR, "results.json"),
  `${JSON.stringify({ date, machine, versions, rounds, single, cells: [...best.values()], accuracy }, null, 2)}\n`,
);

// Hand-written notes (from "## Notes" on) survive a rerun; the rest is regenerated.
const previous = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, "utf8") : "";
const notes = previous.includes("\n## Notes") ? previous.slice(previous.indexOf("\n## Notes")) : "";
const md = (h: string[], r: string[][]) => [`| ${h.join(" | ")} |`, `|${h.map(() => "---").join("|")}|`, ...r.map((x) => `| ${x.join(" | ")} |`)].join("\n");
writeFileSync(
  BENCHMARKS,
  `# Benchmarks

Written by \`npm run bench\` (scripts/bench.ts) on ${date}. One Node process, the
same weights and the same 10000 test images for every implementation; µs per
image, the best of ${rounds} interleaved rounds after one untimed pass at each batch size below 10000
(so V8 has tiered up every Wasm module; ${oursJsName} skips it); batch 1 runs the first ${single}
images one at a time. "÷ ours" is the peer's time over ours (Wasm): above 1, ours
is faster. Ours runs as the service does: the model decoded from its file and fed
the raw pixel bytes (forwardPixels with input_scale 255, so an I8 model's first dense
layer runs in whole numbers); the peers are fed the floats pixels / 255.
${oursJsName} is the fallback where there is no Wasm kernel. The convolutional
networks run the first ${single} images at batch 100 too, and ${oursJsName} sits out their batch of 10000.

Machine: ${machine.cpu}, ${machine.cores} cores (${machine.platform}), Node ${machine.node} (V8 ${machine.v8}),
load average ${machine.loadavg.join(", ")} when the run ended. Peers: onnxruntime-web ${versions["onnxruntime-web"]}
(wasm execution provider, one thread, all graph optimisations, the graph built in
scripts/lib/onnx.ts: one Gemm and one activation per dense layer; Conv, activation and MaxPool
per convolution, NCHW), @tensorflow/tfjs-backend-wasm ${versions["@tensorflow/tfjs-backend-wasm"]} (one thread;
matMul, add and the activation per dense layer; fused.conv2d with bias and ReLU, then maxPool,
per convolution, NHWC, the only layout its Wasm backend takes). Every peer's probabilities
are held within 1e-4 of ours on 100 images before timing. The book's convnets are imported
from ../shared/data/book by \`npm run import\` into a temp folder (not bundled). Ours: ${ours}.

${md(head, rows)}

Correct predictions of the 10000 test images (batch 10000):

${md(accHead, accRows)}
${notes}`,
);
console.log("wrote BENCHMARKS.md and bench/results.json");
