// npm run eval -- --weights <path> | --model <name> [--dataset mnist|fashion]
// Accuracy and confusion matrix over the 10000 test images. The last line is
// exactly `accuracy=<4 decimals> correct=<n> total=<n>` for scripts to read.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { datasetOf } from "../src/model/catalog";
import { decodeModel } from "../src/model/format";
import { DATASET_HINT, DATASETS, datasetPresent, isDataset, loadSplit } from "../test/fixtures/datasets";
import { command, fail } from "./lib/cli";
import { evaluate } from "./lib/evaluate";
import { weightsFile } from "./lib/paths";
import { confusionTable, table } from "./lib/table";

const args = command({
  name: "eval",
  usage: "usage: npm run eval -- --weights <file.safetensors> | --model <name> [--dataset mnist|fashion]",
  options: { weights: { type: "string" }, model: { type: "string" }, dataset: { type: "string" } },
});
const v = args.values;
const path = v.weights ? resolve(v.weights) : v.model ? weightsFile(v.model) : fail("give --weights or --model");
if (!existsSync(path)) fail(`${path} not found${v.model ? "; bundled models are the files in weights/" : ""}`);
let model: ReturnType<typeof decodeModel>;
try {
  model = decodeModel(readFileSync(path));
} catch (e) {
  fail(`${path}: ${(e as Error).message}`);
}
// The data set a model was trained on is in its metadata.
const dataset = v.dataset ?? datasetOf(model) ?? fail(`${path} names no dataset in its metadata; give --dataset`);
if (!isDataset(dataset)) fail(`--dataset must be ${DATASETS.join(" or ")}, got "${dataset}"`);
if (!datasetPresent(dataset, "test")) fail(`the ${dataset} test files are missing: ${DATASET_HINT[dataset]}`);

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
