// npm run bench [-- --rounds 3 --single 1000]
// The forward pass against the libraries a user would otherwise reach for,
// in one Node process, on the same weights and the same 10000 test images:
// ours (the Wasm kernel, and the JS kernel), onnxruntime-web (wasm, one
// thread) and @tensorflow/tfjs-backend-wasm (one thread). Prints µs per image
// at batch 1, 100 and 10000 (best of --rounds interleaved rounds), each peer's
// time over ours, and the accuracy each got; writes BENCHMARKS.md and
// bench/results.json. Figures are printed, never asserted.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, cpus, loadavg, platform } from "node:os";
import { dirname, join } from "node:path";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-web";
import { MODEL_NAMES, MODELS } from "../src/model/catalog";
import { decodeModel } from "../src/model/format";
import { type Backend, loadNetwork } from "../src/nn/backend";
import { JsBackend } from "../src/nn/backends";
import { argmax } from "../src/nn/functions";
import { type Network, pixelsToInput } from "../src/nn/network";
import { createWasmBackend } from "../src/nn/wasm";
import { DATASET_DIRS, datasetPresent, loadSplit } from "../test/fixtures/datasets";
import { command } from "./lib/cli";
import { onnxModel } from "./lib/onnx";
import { BENCH_DIR, ROOT, weightsFile } from "./lib/paths";
import { table } from "./lib/table";

const args = command({
  name: "bench",
  usage: "usage: npm run bench [-- --rounds 3] [--single 1000]   (rounds: interleaved rounds, the best kept; single: images run one at a time)",
  options: { rounds: { type: "string", default: "3" }, single: { type: "string", default: "1000" } },
});
const rounds = args.integer("rounds", { min: 1 });
const single = args.integer("single", { min: 1, max: 10000 });

const BATCHES = [1, 100, 10000];
const require = createRequire(import.meta.url);
const version = (pkg: string) => (JSON.parse(readFileSync(join(dirname(require.resolve(pkg)), "..", "package.json"), "utf8")) as { version: string }).version;

/** One implementation: runs a batch x (N, D) and returns the probabilities (N, C). */
type Run = (x: Float32Array, N: number) => Float32Array | Promise<Float32Array>;
interface Impl {
  name: string;
  prepare(net: Network): Promise<Run>;
}

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = `${dirname(require.resolve("onnxruntime-web"))}/`;
setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`);
setThreadsCount(1);
await tf.setBackend("wasm");

/** Ours: the network loaded into a backend of its own. */
const oursIn = (backend: Backend): Impl => ({
  name: `ours (${backend.name})`,
  prepare: async (net) => {
    const loaded = loadNetwork(backend, net);
    return (x, N) => loaded.forward(x, N);
  },
});
const IMPLS: Impl[] = [
  oursIn(createWasmBackend() ?? new JsBackend()),
  oursIn(new JsBackend()),
  {
    name: `onnxruntime-web ${version("onnxruntime-web")}`,
    prepare: async (net) => {
      const session = await ort.InferenceSession.create(onnxModel(net), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      const D = net.layers[0].inSize;
      return async (x, N) => {
        const out = await session.run({ x: new ort.Tensor("float32", x, [N, D]) });
        return out.y.data as Float32Array;
      };
    },
  },
  {
    name: `tfjs-backend-wasm ${version("@tensorflow/tfjs-backend-wasm")}`,
    prepare: async (net) => {
      const W = net.layers.map((l) => tf.tensor2d(l.W, [l.inSize, l.outSize]));
      const b = net.layers.map((l) => tf.tensor1d(l.b));
      const act = (name: string, a: tf.Tensor2D): tf.Tensor2D =>
        name === "sigmoid" ? tf.sigmoid(a) : name === "relu" ? tf.relu(a) : name === "softmax" ? tf.softmax(a) : a;
      const D = net.layers[0].inSize;
      return (x, N) => {
        const y = tf.tidy(() => {
          let z = tf.tensor2d(x, [N, D]);
          net.layers.forEach((l, i) => {
            z = act(l.activation, tf.add(tf.matMul(z, W[i]), b[i]));
          });
          return z;
        });
        const data = y.dataSync() as Float32Array;
        y.dispose();
        return data;
      };
    },
  },
];

interface Cell {
  model: string;
  batch: number;
  impl: string;
  usPerImage: number;
}
const best = new Map<string, Cell>();
const accuracy: Record<string, Record<string, number>> = {};

/** µs per image of `run` at this batch size over the first `total` images. */
async function time(run: Run, x: Float32Array, D: number, batch: number, total: number): Promise<{ us: number; y?: Float32Array }> {
  const t0 = performance.now();
  let y: Float32Array | undefined;
  for (let n = 0; n < total; n += batch) y = await run(x.subarray(n * D, (n + batch) * D), batch);
  return { us: ((performance.now() - t0) * 1000) / total, y: batch === total ? y : undefined };
}

for (const name of MODEL_NAMES) {
  const { dataset } = MODELS[name];
  if (!datasetPresent(dataset, "test")) {
    console.log(`${name}: skipped, no ${dataset} test set in ${DATASET_DIRS[dataset]}`);
    continue;
  }
  // Decoded in JS: every implementation gets the same F32 weights as plain arrays.
  const model = decodeModel(readFileSync(weightsFile(name)), new JsBackend());
  const split = loadSplit(dataset, "test");
  const x = pixelsToInput(split.pixels, model.inputScale);
  const D = model.sizes[0];
  const C = model.labels.length;
  const runs = await Promise.all(IMPLS.map((impl) => impl.prepare(model.network.toNetwork())));
  accuracy[name] = {};
  for (let r = 0; r < rounds; r++) {
    // Interleaved: every implementation runs once per round, so a slow spell of the machine hits them all.
    for (const batch of BATCHES) {
      for (let i = 0; i < IMPLS.length; i++) {
        const total = batch === 1 ? single : 10000;
        const { us, y } = await time(runs[i], x, D, batch, total);
        const key = `${name}/${batch}/${IMPLS[i].name}`;
        if (us < (best.get(key)?.usPerImage ?? Infinity)) best.set(key, { model: name, batch, impl: IMPLS[i].name, usPerImage: us });
        if (y) {
          const labels = argmax(y, C);
          accuracy[name][IMPLS[i].name] = labels.reduce((s, l, k) => s + (l === split.labels[k] ? 1 : 0), 0);
        }
      }
    }
    process.stdout.write(`${name}: round ${r + 1}/${rounds}\n`);
  }
}

// The table: per model and batch, µs/image of each, and each peer's time over ours (Wasm).
const [ours, oursJs, ...peers] = IMPLS.map((i) => i.name);
const head = ["network", "batch", ...IMPLS.map((i) => `${i.name} µs/image`), ...peers.map((p) => `${p.split(" ")[0]} ÷ ours`)];
const rows: string[][] = [];
for (const name of MODEL_NAMES) {
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
image, the best of ${rounds} interleaved rounds; batch 1 runs the first ${single}
images one at a time. "÷ ours" is the peer's time over ours (Wasm): above 1, ours
is faster. ${oursJs} is the fallback where there is no Wasm kernel.

Machine: ${machine.cpu}, ${machine.cores} cores (${machine.platform}), Node ${machine.node} (V8 ${machine.v8}),
load average ${machine.loadavg.join(", ")} when the run ended. Peers: onnxruntime-web ${versions["onnxruntime-web"]}
(wasm execution provider, one thread, the graph built in scripts/lib/onnx.ts: one Gemm and
one activation per layer), @tensorflow/tfjs-backend-wasm ${versions["@tensorflow/tfjs-backend-wasm"]} (one thread;
matMul, add and the activation per layer). Ours: ${ours}.

${md(head, rows)}

Correct predictions of the 10000 test images (batch 10000):

${md(accHead, accRows)}
${notes}`,
);
console.log("wrote BENCHMARKS.md and bench/results.json");
