// npm run quantize (scripts/quantize.ts): a copy of a bundled model in a temp
// weights directory, re-encoded there; nothing is written into weights/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evaluate } from "../../scripts/lib/evaluate";
import { readManifest, sha256, updateManifest } from "../../scripts/lib/manifest";
import { weightsFile } from "../../scripts/lib/paths";
import { main } from "../../scripts/quantize";
import { decodeModel, encodeModel } from "../../src/model/format";
import { DATASET_DIRS, datasetPresent, loadSplit, skipWithoutData } from "../fixtures/datasets";

const tmp = mkdtempSync(join(tmpdir(), "mnist-edge-quantize-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in-process; returns its exit code and output. */
function runQuantize(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** A weights directory of its own holding `bytes` as mnist-book, recorded in its manifest. */
function weightsDir(name: string, bytes: Uint8Array): { dir: string; file: string } {
  const dir = join(tmp, name);
  const file = join(dir, "mnist-book.safetensors");
  mkdirSync(dir);
  writeFileSync(file, bytes);
  updateManifest(file, dir);
  return { dir, file };
}

describe("npm run quantize", () => {
  it("should refuse, exit 2 and write nothing, when the command line is wrong", () => {
    const { dir, file } = weightsDir("refused", readFileSync(weightsFile("mnist-book")));
    const before = readFileSync(file);
    expect(runQuantize("--dtype", "int8", "--dir", dir).stderr).toMatch(/--model is required/);
    expect(runQuantize("--model", "mnist-book", "--dir", dir).stderr).toMatch(/--dtype is required/);
    expect(runQuantize("--model", "mnist-book", "--dtype", "int4", "--dir", dir).stderr).toMatch(/--dtype must be F32, F16 or int8, got "int4"/);
    expect(runQuantize("--model", "nope", "--dtype", "int8", "--dir", dir).stderr).toMatch(/nope\.safetensors not found/);
    const same = runQuantize("--model", "mnist-book", "--dtype", decodeModel(before).dtype === "I8" ? "int8" : decodeModel(before).dtype, "--dir", dir);
    expect([same.code, same.stderr]).toEqual([2, expect.stringMatching(/is already .*; nothing to do/)]);
    expect(runQuantize("--model", "mnist-book", "--dtype", "int8", "--max-drop", "much", "--dir", dir).stderr).toMatch(
      /--max-drop must be a number of 0 or more/,
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  const present = datasetPresent("mnist", "test");
  it.skipIf(skipWithoutData(present))(
    `should re-encode at F32 and int8, keep the metadata, record where it came from, measure it again and update the manifest (needs ${DATASET_DIRS.mnist})`,
    () => {
      const bundled = readFileSync(weightsFile("mnist-book"));
      const original = decodeModel(bundled);
      // From F32 (the network as the bundled file decodes it), so int8 has a source to quantise.
      const f32 = encodeModel(original.network.toNetwork(), { labels: original.labels, extra: original.metadata });
      const { dir, file } = weightsDir("ok", f32);
      const split = loadSplit("mnist", "test");

      const res = runQuantize("--model", "mnist-book", "--dtype", "int8", "--dir", dir);
      expect(res.code, res.stderr).toBe(0);
      const bytes = readFileSync(file);
      const model = decodeModel(bytes);
      expect(model.dtype).toBe("I8");
      expect(bytes.byteLength).toBeLessThan(f32.byteLength / 3);
      const ev = evaluate(model.network, split, 255);
      const { metadata: m } = model;
      expect([m.test_accuracy, m.test_correct, m.test_total, m.confusion_matrix]).toEqual([
        ev.accuracy.toFixed(4),
        String(ev.correct),
        "10000",
        JSON.stringify(ev.confusion),
      ]);
      expect(m.quantized_from).toBe(`F32 sha256:${sha256(f32)}`);
      expect(m.quantize_command).toBe(`npm run quantize -- --model mnist-book --dtype int8 --dir ${dir}`);
      for (const k of ["name", "dataset", "command", "seed", "options", "trained_at", "code_commit", "labels", "activations", "input_shape", "input_scale"])
        expect(m[k], k).toBe(original.metadata[k]);
      expect(readManifest(dir)["mnist-book.safetensors"]).toEqual({ bytes: bytes.byteLength, sha256: sha256(bytes) });
      expect(res.stdout).toMatch(new RegExp(`mnist-book .*F32 → I8 .*${f32.byteLength} → ${bytes.byteLength} .*→ ${ev.accuracy.toFixed(4)}`));

      // And back to F32: the values int8 stands for, exactly, so the same predictions.
      expect(runQuantize("--model", "mnist-book", "--dtype", "F32", "--dir", dir).code).toBe(0);
      const back = decodeModel(readFileSync(file));
      expect(back.dtype).toBe("F32");
      expect(back.network.toNetwork().layers.map((l) => [...l.W])).toEqual(model.network.toNetwork().layers.map((l) => [...l.W]));
      expect(back.metadata.test_correct).toBe(String(ev.correct));
      expect(back.metadata.quantized_from).toBe(`I8 sha256:${sha256(bytes)}`);
    },
  );

  it.skipIf(skipWithoutData(present))(
    `should keep the old file, exit 1 and say why, when accuracy falls by more than --max-drop (needs ${DATASET_DIRS.mnist})`,
    () => {
      // A weight of 10^4 on the top-left pixel, which is 0 in every MNIST image: F32 gives the same labels,
      // but it sets every first-layer column's int8 scale, and the other weights round to 0.
      const net = decodeModel(readFileSync(weightsFile("mnist-book"))).network.toNetwork();
      net.layers[0].W.fill(1e4, 0, net.layers[0].outSize);
      const f32 = encodeModel(net, { extra: { dataset: "mnist" } });
      const { dir, file } = weightsDir("drop", f32);
      const res = runQuantize("--model", "mnist-book", "--dtype", "int8", "--max-drop", "0.05", "--dir", dir);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/mnist-book at int8 classifies \d+ of 10000, not \d+: [\d.]+ points down, more than --max-drop 0.05; .* is left as it was/);
      expect(res.stdout).toMatch(/F32 → F32 \(kept\)/);
      expect(readFileSync(file).equals(f32)).toBe(true);
      expect(readManifest(dir)["mnist-book.safetensors"].sha256).toBe(sha256(f32));
    },
  );
});
