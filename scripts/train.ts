// npm run train -- --model <name> [options]
// Trains a network from scratch (or on from a file's weights, --init) and
// writes weights/<name>.safetensors with the exact command, options, seed and
// test accuracy in its metadata.
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { MODELS, type ModelName } from "../src/model/catalog";
import { decodeModel, DEFAULT_LABELS, encodeModel, type WeightDType } from "../src/model/format";
import { type Activation, isActivation } from "../src/nn/functions";
import type { Network } from "../src/nn/network";
import { DATASETS, datasetPresent, FASHION_LABELS, isDataset, loadSplit } from "../test/fixtures/datasets";
import { type AugmentOptions, HANDWRITTEN, NO_DISTORTION } from "./lib/augment";
import { command, fail, UsageError } from "./lib/cli";
import { DTYPE_CHOICES, readDType } from "./lib/dtype";
import { evaluate } from "./lib/evaluate";
import { updateManifest } from "./lib/manifest";
import { weightsFile } from "./lib/paths";
import { confusionTable, table } from "./lib/table";
import { type ConvSpec, type EpochReport, shapeOf, type TrainOptions, train } from "./lib/trainer";

interface Preset extends TrainOptions {
  dtype: WeightDType;
}

const base = { batch: 100, lr: 1e-3, lrMin: 1e-5, weightDecay: 0, validation: 5000, seed: 1 };
/**
 * How each bundled model is trained: `npm run train -- --model <name>`
 * rebuilds it. One per catalog name (a model without one is a type error);
 * its data set is the catalog's.
 */
const PRESETS: Record<ModelName, Preset> = {
  // The chapter's network exactly: 784 → 50 → 100 → 10, sigmoid, sigmoid, softmax.
  "mnist-book": { ...base, hidden: [50, 100], activation: "sigmoid", epochs: 40, shift: 1, augment: NO_DISTORTION, dtype: "F32" },
  // The largest ReLU MLP whose F16 weights stay under 1 MiB, trained on
  // distorted digits so that drawn and scanned ones are read too.
  "mnist-mlp": {
    ...base,
    hidden: [500, 250],
    activation: "relu",
    epochs: 22,
    shift: 2,
    augment: HANDWRITTEN,
    weightDecay: 1e-5,
    dtype: "F16",
  },
  // Two 5×5 convolutions (each ReLU'd and pooled 2×2) under a small dense
  // layer, trained on distorted digits and on the styles MNIST rarely shows
  // (scripts/lib/styles.ts). The bundled file was trained on from this run
  // with wider rotations (its command, with --init; this preset is its
  // init_command), then quantised to int8 (its quantize_command).
  "mnist-cnn": {
    ...base,
    conv: [
      { filters: 32, kernel: 5 },
      { filters: 64, kernel: 5 },
    ],
    hidden: [128],
    activation: "relu",
    epochs: 16,
    shift: 2,
    augment: HANDWRITTEN,
    styles: { restyle: 0.15, pen: 0.2 },
    weightDecay: 1e-5,
    validation: 2000,
    dtype: "F32",
  },
  "fashion-mlp": {
    ...base,
    hidden: [512, 256],
    activation: "relu",
    epochs: 30,
    shift: 1,
    augment: NO_DISTORTION,
    weightDecay: 1e-5,
    dtype: "F16",
  },
};

/** The commit the trainer ran at: the kernels' summation order decides the last bits. */
function codeVersion(): Record<string, string> {
  try {
    const commit = execSync("git rev-parse HEAD", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execSync("git status --porcelain -- src scripts", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() !== "";
    return { code_commit: dirty ? `${commit}+modified` : commit };
  } catch {
    return {};
  }
}

const usage = `usage: npm run train -- --model <name> [--dataset mnist|fashion] [--conv 20x5,40x5] [--hidden 500,250]
  [--activation relu|sigmoid] [--epochs N] [--batch N] [--lr X] [--lr-min X] [--weight-decay X]
  [--shift N] [--distort handwritten|none] [--rotate DEG] [--scale X] [--thickness X] [--elastic ALPHA] [--elastic-sigma S] [--augment-p P]
  [--restyle P] [--pen P] [--refit P] [--validation N] [--seed N] [--limit N] [--dtype ${DTYPE_CHOICES}] [--init file] [--out path]
distortions (per image, drawn uniformly): --distort a named set (handwritten: what the mnist-mlp
  preset uses), or each range: --rotate up to ±DEG degrees; --scale 1±X; --thickness ±X
  (0..1 of a 3x3 dilation or erosion); --elastic Simard's α with smoothing σ (--elastic-sigma);
  --augment-p the share of images distorted (the rest are only shifted)
--restyle P: the share of digits given a style MNIST rarely shows (flagged 1, crossed 7, slashed 0,
  open 4 and 9, two-loop 8; scripts/lib/styles.ts); --pen P: the share redrawn with a 1-4 px pen
--refit P: the share of digits read back through the service's picture preprocessing after their
  distortions (drawn 3× larger, refitted into 20×20 and centred by mass: scripts/lib/refit.ts)
--init FILE: start from FILE's weights (a .safetensors of the same layers) instead of random ones, to go on
  training it, e.g. with wider distortions and a lower --lr; its metadata's command and code_commit are kept as init_command and init_code_commit
--conv: convolutions before the dense layers, each FILTERSxKERNEL (e.g. 32x5: 32 filters of 5×5, valid),
  then pN for N zeros of padding and /P for P×P max pooling after the activation (default /2, /1 for none)
presets: ${Object.keys(PRESETS).join(", ")} (any other name needs --dataset and --hidden)`;

const args = command({
  name: "train",
  usage,
  options: {
    model: { type: "string" },
    dataset: { type: "string" },
    conv: { type: "string" },
    hidden: { type: "string" },
    activation: { type: "string" },
    epochs: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    "lr-min": { type: "string" },
    "weight-decay": { type: "string" },
    shift: { type: "string" },
    distort: { type: "string" },
    rotate: { type: "string" },
    scale: { type: "string" },
    thickness: { type: "string" },
    elastic: { type: "string" },
    "elastic-sigma": { type: "string" },
    "augment-p": { type: "string" },
    restyle: { type: "string" },
    pen: { type: "string" },
    refit: { type: "string" },
    validation: { type: "string" },
    seed: { type: "string" },
    limit: { type: "string" },
    dtype: { type: "string" },
    init: { type: "string" },
    out: { type: "string" },
  },
});
const v = args.values;
const name = v.model ?? fail("--model is required");
const preset: Preset | undefined = Object.hasOwn(PRESETS, name) ? PRESETS[name as ModelName] : undefined;
if (!preset && !(v.dataset && v.hidden)) fail(`"${name}" is not a preset; give --dataset and --hidden`);
/** A non-negative number option, or the fallback when it is absent. */
const num = (key: Parameters<typeof args.number>[0], fallback: number | undefined): number => args.number(key, { min: 0, fallback });
const dataset = v.dataset ?? (preset ? MODELS[name as ModelName].dataset : undefined);
if (!isDataset(dataset)) fail(`--dataset must be ${DATASETS.join(" or ")}`);
const activation = (v.activation ?? preset?.activation ?? "relu") as Activation;
if (activation === "step")
  fail(`--activation step cannot be trained: its gradient is zero everywhere, so nothing is learned (step is for inference only); use relu or sigmoid`);
if (!isActivation(activation) || activation === "softmax") fail(`--activation must be relu, sigmoid or identity`);
const hidden = v.hidden ? v.hidden.split(",").map(Number) : (preset as Preset).hidden;
if (!hidden.every((h) => Number.isSafeInteger(h) && h > 0)) fail(`--hidden must be positive integers, e.g. 500,250`);
/** "32x5p2/2" → 32 filters of 5×5, padding 2, 2×2 pooling. */
function parseConv(text: string): ConvSpec[] {
  return text.split(",").map((part) => {
    const m = /^(\d+)x(\d+)(?:p(\d+))?(?:\/(\d+))?$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || (m[4] !== undefined && Number(m[4]) < 1))
      fail(`--conv: "${part}" is not FILTERSxKERNEL[pPAD][/POOL], e.g. 32x5 or 64x3p1/1`);
    return { filters: Number(m[1]), kernel: Number(m[2]), pad: Number(m[3] ?? 0), pool: Number(m[4] ?? 2) };
  });
}
const conv = v.conv !== undefined ? parseConv(v.conv) : preset?.conv;
// int8 on the command line, I8 in the file.
const dtype = v.dtype === undefined ? (preset?.dtype ?? "F32") : readDType(v.dtype);
const DISTORTIONS: Record<string, AugmentOptions> = { none: NO_DISTORTION, handwritten: HANDWRITTEN };
if (v.distort !== undefined && !DISTORTIONS[v.distort]) fail(`--distort must be ${Object.keys(DISTORTIONS).join(" or ")}, got "${v.distort}"`);
// A named set of distortions, then any single range given overrides it.
const pa = v.distort !== undefined ? DISTORTIONS[v.distort] : (preset?.augment ?? NO_DISTORTION);
const augment: AugmentOptions = {
  rotate: num("rotate", pa.rotate),
  scale: num("scale", pa.scale),
  thickness: num("thickness", pa.thickness),
  elastic: num("elastic", pa.elastic),
  elasticSigma: num("elastic-sigma", pa.elasticSigma),
  p: num("augment-p", pa.p),
};
if (augment.scale >= 1) fail(`--scale must be below 1 (sizes are drawn from 1-X to 1+X)`);
if (augment.thickness > 1) fail(`--thickness must be at most 1 (a whole 3x3 dilation or erosion)`);
if (augment.p > 1) fail(`--augment-p must be a share between 0 and 1`);
if (augment.elastic > 0 && !(augment.elasticSigma > 0)) fail(`--elastic-sigma must be above 0`);
const opts: TrainOptions = {
  conv,
  hidden,
  activation,
  epochs: num("epochs", preset?.epochs ?? 10),
  batch: num("batch", base.batch),
  lr: num("lr", base.lr),
  lrMin: num("lr-min", base.lrMin),
  weightDecay: num("weight-decay", preset?.weightDecay ?? 0),
  shift: num("shift", preset?.shift ?? 0),
  augment,
  validation: num("validation", preset?.validation ?? base.validation),
  seed: num("seed", base.seed),
  limit: v.limit ? num("limit", undefined) : undefined,
};
{
  const restyleShare = num("restyle", preset?.styles?.restyle ?? 0);
  const pen = num("pen", preset?.styles?.pen ?? 0);
  if (restyleShare > 1 || pen > 1) fail(`--restyle and --pen are shares between 0 and 1`);
  if ((restyleShare > 0 || pen > 0) && dataset !== "mnist") fail(`--restyle and --pen draw digits' styles: they are for --dataset mnist`);
  if (restyleShare > 0 || pen > 0) opts.styles = { restyle: restyleShare, pen };
  const refitShare = num("refit", preset?.refit ?? 0);
  if (refitShare > 1) fail(`--refit is a share between 0 and 1`);
  if (refitShare > 0 && dataset !== "mnist") fail(`--refit reads digits back by MNIST's recipe: it is for --dataset mnist`);
  if (refitShare > 0) opts.refit = refitShare;
}
const out = v.out ? resolve(v.out) : weightsFile(name);
const commandLine = ["npm", "run", "train", "--", ...process.argv.slice(2)].join(" ");

if (!datasetPresent(dataset, "train")) fail(`the ${dataset} training files are missing`);
const data = loadSplit(dataset, "train");
const labels = dataset === "fashion" ? FASHION_LABELS : DEFAULT_LABELS;
const { D, C, side } = shapeOf(data);
const sizes = [
  D,
  ...(conv ?? []).map((c) => `conv ${c.filters}×${c.kernel}×${c.kernel}${c.pad ? ` pad ${c.pad}` : ""}${(c.pool ?? 2) !== 1 ? ` pool ${c.pool ?? 2}` : ""}`),
  ...hidden,
  C,
];
console.error(
  `training ${name}: ${sizes.join(" → ")} (${activation}) on ${dataset}, ${data.count - opts.validation} train / ${opts.validation} validation, seed ${opts.seed}`,
);

const code = codeVersion(); // at the start: the commit may move while a long run trains
const fmt = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(1)}s`);
const started = performance.now();
// Training on from a file: its weights, and how it was made, recorded beside this run's command.
let start: { network: Network; metadata: Record<string, string> } | undefined;
if (v.init !== undefined) {
  if (!existsSync(v.init)) fail(`--init: ${v.init} not found`);
  try {
    const model = decodeModel(readFileSync(v.init));
    start = { network: model.network.toNetwork(), metadata: model.metadata };
  } catch (e) {
    fail(`--init: ${v.init}: ${(e as Error).message}`);
  }
  // One step back is recorded, so that the two commands rebuild the file; a longer chain would lose its first.
  if (start.metadata.init_command !== undefined)
    fail(`--init: ${v.init} was itself trained on from another file (its init_command); start from a file its own command made`);
}
const progress = (r: EpochReport) =>
  console.error(
    `epoch ${String(r.epoch).padStart(String(r.epochs).length)}/${r.epochs}  loss ${r.loss.toFixed(4)}  val_acc ${r.valAccuracy.toFixed(4)}  ${fmt(r.seconds)}  ETA ${fmt(r.etaSeconds)}`,
  );
let net: Network;
try {
  net = train(data, opts, progress, start?.network);
} catch (e) {
  // What the options cannot build (a convolution stack without output, an --init file of other layers) says what to change.
  if (e instanceof UsageError) fail(e.message);
  throw e;
}
const seconds = (performance.now() - started) / 1000;

// Measure the weights as stored (after F16 rounding or int8 quantisation), not as trained.
const encodeOpts = { labels, dtype, inputShape: [side, side], inputScale: 255 };
const stored = decodeModel(encodeModel(net, encodeOpts)).network;
const extra: Record<string, string> = {
  name,
  dataset,
  command: commandLine,
  seed: String(opts.seed),
  options: JSON.stringify(opts),
  training_seconds: seconds.toFixed(1),
  trained_at: new Date().toISOString(),
  format: "mnist-edge/1",
  ...code,
};
if (start) {
  extra.init_command = start.metadata.command ?? "unknown";
  if (start.metadata.code_commit) extra.init_code_commit = start.metadata.code_commit;
}
if (datasetPresent(dataset, "test")) {
  const ev = evaluate(stored, loadSplit(dataset, "test"), 255);
  extra.test_accuracy = ev.accuracy.toFixed(4);
  extra.test_correct = String(ev.correct);
  extra.test_total = String(ev.total);
  extra.confusion_matrix = JSON.stringify(ev.confusion);
  console.error(confusionTable(ev.confusion, labels));
}
const bytes = encodeModel(net, { ...encodeOpts, extra });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
updateManifest(out); // weights/ only: the bundle's digests (npm run check:weights)
console.log(
  table(
    ["model", "layers", "dtype", "bytes", "train time", "test accuracy"],
    [[name, sizes.join("→"), dtype, bytes.length, fmt(seconds), extra.test_accuracy ?? "n/a"]],
  ),
);
console.log(`wrote ${out}`);
