// The bundled models: each meets its accuracy floor on the 10000 test
// images, as stored (after F16 rounding or int8 quantisation), and says how
// it was made.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { datasetOf, MODELS as CATALOG } from "../../src/model/catalog";
import { decodeModel } from "../../src/model/format";
import { type DatasetName, DATASET_DIRS, datasetPresent, FASHION_LABELS, loadSplit, skipWithoutData } from "../fixtures/datasets";
import { evaluate } from "../../scripts/lib/evaluate";

const MODELS: { name: string; dataset: DatasetName; floor: number; maxBytes?: number; layers?: number[]; activations?: string }[] = [
  { name: "mnist-book", dataset: "mnist", floor: 0.97, layers: [784, 50, 100, 10], activations: "sigmoid,sigmoid,softmax" },
  { name: "mnist-mlp", dataset: "mnist", floor: 0.985, maxBytes: 1024 * 1024 },
  // Our convolutional network must read 99.5% of the test set, as stored (int8).
  { name: "mnist-cnn", dataset: "mnist", floor: 0.995 },
  { name: "fashion-mlp", dataset: "fashion", floor: 0.89 },
];

it("should hold every model of the catalog to a floor, and read each one's dataset from its metadata as the catalog says", () => {
  expect(MODELS.map((m) => m.name).sort()).toEqual(Object.keys(CATALOG).sort());
  for (const m of MODELS) expect(datasetOf(decodeModel(readFileSync(`weights/${m.name}.safetensors`)))).toBe(CATALOG[m.name as keyof typeof CATALOG].dataset);
});

for (const m of MODELS) {
  const path = `weights/${m.name}.safetensors`;
  describe(m.name, () => {
    const model = decodeModel(readFileSync(path));

    it("should record the training command that rebuilds it", () => {
      expect(model.metadata.command).toMatch(new RegExp(`^npm run train -- --model ${m.name}`));
      expect(model.metadata.seed).toMatch(/^\d+$/);
      expect(model.metadata.dataset).toBe(m.dataset);
      if (m.dataset === "fashion") expect(model.labels).toEqual(FASHION_LABELS);
      if (m.layers) expect(model.sizes).toEqual(m.layers);
      if (m.activations) expect(model.metadata.activations).toBe(m.activations);
    });

    it("should record, when it was re-encoded, the file it came from and the command", () => {
      if (model.metadata.quantized_from === undefined) return;
      expect(model.metadata.quantized_from).toMatch(/^(F32|F16|BF16|I8) sha256:[0-9a-f]{64}$/);
      expect(model.metadata.quantize_command).toMatch(new RegExp(`^npm run quantize -- .*--model ${m.name}( |$)`));
    });

    if (m.maxBytes) it(`should fit in ${m.maxBytes} bytes`, () => expect(statSync(path).size).toBeLessThanOrEqual(m.maxBytes as number));

    it.skipIf(skipWithoutData(datasetPresent(m.dataset, "test")))(`should reach ${m.floor} test accuracy (needs ${DATASET_DIRS[m.dataset]})`, () => {
      const ev = evaluate(model.network, loadSplit(m.dataset, "test"), model.inputScale);
      expect(ev.total).toBe(10000);
      expect(ev.accuracy).toBeGreaterThanOrEqual(m.floor);
      expect(model.metadata.test_correct).toBe(String(ev.correct));
    });
  });
}

describe("npm run eval", () => {
  it.skipIf(skipWithoutData(datasetPresent("mnist", "test")))(`should end with the accuracy line that evaluate() gives (needs ${DATASET_DIRS.mnist})`, () => {
    const r = spawnSync("npm", ["run", "--silent", "eval", "--", "--model", "mnist-book"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const last = r.stdout.trim().split("\n").at(-1);
    const ev = evaluate(decodeModel(readFileSync("weights/mnist-book.safetensors")).network, loadSplit("mnist", "test"), 255);
    expect(last).toBe(`accuracy=${ev.accuracy.toFixed(4)} correct=${ev.correct} total=10000`);
    expect(r.stdout).toMatch(/recall/);
  });

  it("should say what to do for a missing file", () => {
    const r = spawnSync("npm", ["run", "--silent", "eval", "--", "--weights", "weights/nope.safetensors"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nope\.safetensors not found/);
  });
});
