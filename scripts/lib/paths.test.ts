import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { datasetPresent, skipWithoutData } from "../../test/fixtures/datasets";
import { ROOT, WEIGHTS_DIR, weightsFile } from "./paths";

describe("paths", () => {
  it("should name the repository's folders", () => {
    expect((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string }).name).toBe("mnist-edge");
    expect(existsSync(join(WEIGHTS_DIR, "manifest.json"))).toBe(true);
    expect(weightsFile("mnist-book")).toBe(join(ROOT, "weights", "mnist-book.safetensors"));
  });

  it.skipIf(skipWithoutData(datasetPresent("mnist", "test")))(
    "should let a script run from another directory find the bundled weights and the data sets",
    () => {
      const cwd = mkdtempSync(join(tmpdir(), "mnist-edge-cwd-"));
      const tsx = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
      const r = spawnSync(process.execPath, [tsx, join(ROOT, "scripts", "eval.ts"), "--model", "mnist-book"], { cwd, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/accuracy=0\.\d{4} correct=\d+ total=10000\n$/);
    },
  );
});
