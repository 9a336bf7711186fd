// npm run eval -- --weights <path> | --model <name> [--dataset mnist|fashion]
// Accuracy and confusion matrix over the 10000 test images. The last line is
// exactly `accuracy=<4 decimals> correct=<n> total=<n>` for scripts to read.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { datasetOf } from "../src/model/catalog";
import { decodeModel } from "../src/model/format";
import { type DatasetName, DATASET_HINT, datasetPresent, loadSplit } from "./lib/datasets";
import { evaluate } from "./lib/evaluate";
import { confusionTable, table } from "./lib/table";

const usage = "usage: npm run eval -- --weights <file.safetensors> | --model <name> [--dataset mnist|fashion]";
function die(msg: string): never {
  console.error(`eval: ${msg}\n${usage}`);
  process.exit(2);
}

const { values: v } = parseArgs({ options: { weights: { type: "string" }, model: { type: "string" }, dataset: { type: "string" } } });
const path = v.weights ? resolve(v.weights) : v.model ? resolve(`weights/${v.model}.safetensors`) : die("give --weights or --model");
if (!existsSync(path)) die(`${path} not found${v.model ? "; bundled models are the files in weights/" : ""}`);
let model: ReturnType<typeof decodeModel>;
try {
  model = decodeModel(readFileSync(path));
} catch (e) {
  die(`${path}: ${(e as Error).message}`);
}
// The dataset a model was trained on is in its metadata.
const dataset = (v.dataset ?? datasetOf(model) ?? die("the model's metadata names no dataset; give --dataset mnist or fashion")) as DatasetName;
if (dataset !== "mnist" && dataset !== "fashion") die(`--dataset must be mnist or fashion`);
if (!datasetPresent(dataset, "test")) die(`the ${dataset} test files are missing: ${DATASET_HINT[dataset]}`);

const split = loadSplit(dataset, "test");
const t0 = performance.now();
const ev = evaluate(model.network, split, model.inputScale, model.labels.length);
const ms = performance.now() - t0;
console.log(
  table(
    ["weights", "layers", "activations", "params", "dtype", "dataset", "µs/image"],
    [[path, model.sizes.join("→"), model.activations.join(","), model.parameters, model.dtype, dataset, ((ms * 1000) / split.count).toFixed(1)]],
  ),
);
console.log(confusionTable(ev.confusion, model.labels));
console.log(`accuracy=${ev.accuracy.toFixed(4)} correct=${ev.correct} total=${ev.total}`);
