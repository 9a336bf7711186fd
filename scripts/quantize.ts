// npm run quantize -- --model <name> --dtype int8|F16|F32 [--max-drop P] [--dir weights]
// Re-encodes a bundled model at another dtype: the same network (its weights
// as the file holds them, decoded), every metadata key kept, plus
// quantized_from (the old dtype and the file's sha256) and quantize_command;
// test_accuracy, test_correct, test_total and confusion_matrix are measured
// again on the weights as now stored. Then weights/manifest.json is updated.
// Training the preset and running the recorded quantize_command rebuilds the
// weights bit for bit (the metadata keeps the training run's times).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { datasetOf } from "../src/model/catalog";
import { decodeModel, encodeModel, type Model } from "../src/model/format";
import { DATASET_HINT, datasetPresent, loadSplit } from "../test/fixtures/datasets";
import { fail, parseCommand, UsageError } from "./lib/cli";
import { DTYPE_CHOICES, dtypeFlag, readDType } from "./lib/dtype";
import { type Evaluation, evaluate } from "./lib/evaluate";
import { sha256, updateManifest } from "./lib/manifest";
import { WEIGHTS_DIR } from "./lib/paths";
import { table } from "./lib/table";

const usage = `usage: npm run quantize -- --model <name> [--model <name> ...] --dtype ${DTYPE_CHOICES} [--max-drop P] [--dir weights]
  re-encodes weights/<name>.safetensors at --dtype (int8: one F32 scale per output column
  or filter, F32 biases), keeping its metadata, and measures its test accuracy again
  --max-drop: keep the old file when test accuracy falls by more than P percentage
          points (0.05 = 5 of 10000 test images)
  --dir:  the weights directory and its manifest.json (default weights/)`;

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Accuracy metadata, as the trainer writes it. */
function accuracyKeys(ev: Evaluation): Record<string, string> {
  return {
    test_accuracy: ev.accuracy.toFixed(4),
    test_correct: String(ev.correct),
    test_total: String(ev.total),
    confusion_matrix: JSON.stringify(ev.confusion),
  };
}

/** The CLI; returns the exit code (0 written, 1 kept by --max-drop, 2 user error). */
export function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): number {
  try {
    const options = {
      model: { type: "string", multiple: true },
      dtype: { type: "string" },
      "max-drop": { type: "string" },
      dir: { type: "string" },
    } as const;
    const args = parseCommand({ name: "quantize", usage, options }, argv);
    const v = args.values;
    if (args.help) {
      io.out(usage);
      return 0;
    }
    const names = v.model ?? fail("--model is required (a file weights/<name>.safetensors)");
    const dtype = readDType(v.dtype ?? fail("--dtype is required: F32, F16 or int8"));
    const maxDrop = v["max-drop"] === undefined ? undefined : args.number("max-drop", { min: 0 });
    const dir = resolve(v.dir ?? WEIGHTS_DIR);
    const command = ["npm", "run", "quantize", "--", ...argv].map(shellQuote).join(" ");

    const rows: (string | number)[][] = [];
    let kept = 0;
    for (const name of names) {
      const path = join(dir, `${name}.safetensors`);
      if (!existsSync(path)) fail(`${path} not found; --model names a file in ${relative(process.cwd(), dir) || dir}`);
      const before = readFileSync(path);
      let model: Model;
      try {
        model = decodeModel(before);
      } catch (e) {
        fail(`${path}: ${(e as Error).message}`);
      }
      if (model.dtype === dtype) fail(`${path} is already ${dtypeFlag(dtype)}; nothing to do`);
      const dataset = datasetOf(model) ?? fail(`${path} names no dataset in its metadata, so its test accuracy cannot be measured again`);
      if (!datasetPresent(dataset, "test")) fail(`the ${dataset} test files are missing: ${DATASET_HINT[dataset]}`);
      const split = loadSplit(dataset, "test");
      const was = evaluate(model.network, split, model.inputScale, model.labels.length);

      const network = model.network.toNetwork();
      const opts = { labels: model.labels, inputShape: model.inputShape, inputScale: model.inputScale, dtype };
      const from = { quantized_from: `${model.dtype} sha256:${sha256(before)}`, quantize_command: command };
      const now = evaluate(decodeModel(encodeModel(network, opts)).network, split, model.inputScale, model.labels.length);
      const bytes = encodeModel(network, { ...opts, extra: { ...model.metadata, ...from, ...accuracyKeys(now) } });

      const drop = ((was.correct - now.correct) / now.total) * 100;
      const keep = maxDrop !== undefined && drop > maxDrop;
      rows.push([
        name,
        `${model.dtype} → ${keep ? `${model.dtype} (kept)` : dtype}`,
        `${before.byteLength} → ${keep ? before.byteLength : bytes.byteLength}`,
        `${was.accuracy.toFixed(4)} → ${now.accuracy.toFixed(4)}${keep ? " (not written)" : ""}`,
      ]);
      if (keep) {
        io.err(
          `quantize: ${name} at ${dtypeFlag(dtype)} classifies ${now.correct} of ${now.total}, not ${was.correct}: ${drop.toFixed(2)} points down, more than --max-drop ${maxDrop}; ${path} is left as it was`,
        );
        kept++;
        continue;
      }
      writeFileSync(path, bytes);
      updateManifest(path, dir); // weights/ (or --dir): the bundle's digests (npm run check:weights)
    }
    io.out(table(["model", "dtype", "bytes", "test accuracy"], rows));
    return kept ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`quantize: ${e.message}\n${usage}`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
