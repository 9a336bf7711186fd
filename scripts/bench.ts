// npm run bench [-- --time 1000]
// Forward-pass speed of each bundled model in Node (V8, one thread, the same
// code the Worker runs): one image at a time, batches, and the fast affine
// kernel against its naive twin on the same batch. Prints µs/image.
import { readFileSync, readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import { decodeModel } from "../src/model/format";
import { forward, predict } from "../src/nn/network";
import { rng } from "../src/nn/random";
import { forwardNaive } from "../test/reference";
import { datasetPresent, loadSplit } from "./lib/datasets";
import { toInput } from "./lib/evaluate";
import { table } from "./lib/table";

const { values: v } = parseArgs({ options: { time: { type: "string", default: "1000" } } });
const time = Number(v.time);
if (!(time > 0)) {
  console.error("bench: --time must be milliseconds per task, e.g. 1000");
  process.exit(2);
}

// Real test images when present (their sparsity is what the kernels see in
// production); otherwise deterministic digit-like noise.
const N = 1000;
let pixels: Uint8Array;
if (datasetPresent("mnist", "test")) pixels = loadSplit("mnist", "test").pixels.subarray(0, N * 784);
else {
  const r = rng(1);
  pixels = new Uint8Array(N * 784).map(() => {
    const u = r();
    return u < 0.8 ? 0 : Math.floor(u * 256);
  });
}
const x = toInput(pixels, 255);
const one = x.subarray(0, 784);

const rows: (string | number)[][] = [];
for (const file of readdirSync("weights").filter((f) => f.endsWith(".safetensors"))) {
  const t0 = performance.now();
  const model = decodeModel(readFileSync(`weights/${file}`));
  const decodeMs = performance.now() - t0;
  const net = model.network;
  const bench = new Bench({ time, warmup: true });
  bench
    .add("predict, 1 image", () => {
      predict(net, one);
    })
    .add(`forward, batch ${N}`, () => {
      forward(net, x, N);
    })
    .add(`forward, batch ${N}, output=label`, () => {
      forward(net, x, N, "label");
    })
    .add(`forward, batch ${N}, affineNaive`, () => {
      forwardNaive(net, x, N);
    });
  await bench.run();
  const perImage = bench.tasks.map((t) => {
    const mean = t.result && "latency" in t.result ? t.result.latency.mean : Number.NaN;
    return (mean * 1000) / (t.name.includes("batch") ? N : 1);
  });
  rows.push([file.replace(".safetensors", ""), decodeMs.toFixed(1), ...perImage.map((u) => u.toFixed(2)), (perImage[3] / perImage[1]).toFixed(1)]);
}
console.log(table(["model", "decode ms", "µs/image single", `µs/image batch ${N}`, "µs/image label only", "µs/image naive", "fast vs naive ×"], rows));
