// weights/manifest.json and `npm run check:weights`: the committed weights
// match their recorded digests, and a copy with one flipped byte is refused
// with the file and both digests named. Nothing is written into weights/.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkManifest, readManifest, sha256, updateManifest } from "../../scripts/lib/manifest";
import { WEIGHTS_DIR } from "../../scripts/lib/paths";

const tmp = mkdtempSync(join(tmpdir(), "mnist-edge-manifest-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of weights/ (files and manifest) in a fresh temp dir. */
function copyWeights(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(WEIGHTS_DIR)) copyFileSync(join(WEIGHTS_DIR, f), join(dir, f));
  return dir;
}

/** Runs check-weights asynchronously (the server it asks lives in this process). */
function checkUrl(url: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(join("node_modules", ".bin", "tsx"), ["scripts/check-weights.ts", "--url", url], { env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (status) => resolve({ status, out }));
  });
}

const checkCli = (dir: string) =>
  spawnSync(join("node_modules", ".bin", "tsx"), ["scripts/check-weights.ts", "--dir", dir], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("weights manifest", () => {
  it("should list every bundled weights file with its size and digest", () => {
    const manifest = readManifest();
    const files = readdirSync(WEIGHTS_DIR).filter((f) => f.endsWith(".safetensors"));
    expect(Object.keys(manifest).sort()).toEqual(files.sort());
    for (const f of files) {
      const bytes = readFileSync(join(WEIGHTS_DIR, f));
      expect(manifest[f]).toEqual({ bytes: bytes.byteLength, sha256: sha256(bytes) });
    }
    expect(checkManifest()).toEqual([]);
  });

  it("should refuse a copy with one flipped byte, naming the file and both digests", () => {
    const dir = copyWeights("flipped");
    const file = join(dir, "mnist-book.safetensors");
    const bytes = readFileSync(file);
    const want = sha256(bytes);
    bytes[bytes.length - 100] ^= 0x01; // a weight, not the header: it still decodes
    writeFileSync(file, bytes);
    const got = sha256(bytes);

    const problems = checkManifest(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(file);
    expect(problems[0]).toContain(got);
    expect(problems[0]).toContain(want);

    const cli = checkCli(dir);
    expect(cli.status, cli.stdout + cli.stderr).toBe(1);
    expect(cli.stderr).toContain(got);
    expect(cli.stderr).toContain(want);
  });

  it("should refuse a missing file, an unlisted file and a missing manifest", () => {
    const dir = copyWeights("missing");
    rmSync(join(dir, "mnist-mlp.safetensors"));
    writeFileSync(join(dir, "extra.safetensors"), new Uint8Array(8));
    const problems = checkManifest(dir);
    expect(problems.some((p) => p.includes("mnist-mlp.safetensors") && p.includes("missing"))).toBe(true);
    expect(problems.some((p) => p.includes("extra.safetensors") && p.includes("not listed"))).toBe(true);
    rmSync(join(dir, "manifest.json"));
    expect(checkManifest(dir)[0]).toMatch(/manifest\.json is missing/);
  });

  it("should pass the untouched copy and record a rewritten file", () => {
    const dir = copyWeights("updated");
    expect(checkCli(dir).status).toBe(0);
    const file = join(dir, "mnist-book.safetensors");
    writeFileSync(file, new Uint8Array([1, 2, 3]));
    expect(checkManifest(dir)).toHaveLength(1);
    expect(updateManifest(file, dir)).toBe(true);
    expect(readManifest(dir)["mnist-book.safetensors"]).toEqual({ bytes: 3, sha256: sha256(new Uint8Array([1, 2, 3])) });
    expect(checkManifest(dir)).toEqual([]);
  });

  it("should leave the manifest alone for a file written outside its directory", () => {
    const dir = copyWeights("outside");
    const before = readFileSync(join(dir, "manifest.json"), "utf8");
    const elsewhere = join(tmp, "elsewhere.safetensors");
    writeFileSync(elsewhere, new Uint8Array(4));
    expect(updateManifest(elsewhere, dir)).toBe(false);
    expect(readFileSync(join(dir, "manifest.json"), "utf8")).toBe(before);
  });
});

describe("check:weights --url", () => {
  it("should pass a service whose cards match the manifest and refuse one that differs", async () => {
    const manifest = readManifest();
    let cards = Object.entries(manifest).map(([f, e]) => ({ name: f.replace(/\.safetensors$/, ""), bytes: e.bytes, sha256: e.sha256, available: true }));
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(req.url === "/v1/models" ? JSON.stringify({ default: "mnist-mlp", models: cards }) : "{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    try {
      const ok = await checkUrl(url);
      expect(ok.status, ok.out).toBe(0);
      cards = cards.map((c) => (c.name === "mnist-book" ? { ...c, sha256: "0".repeat(64) } : c));
      const bad = await checkUrl(url);
      expect(bad.status).toBe(1);
      expect(bad.out).toMatch(/"mnist-book" is \d+ bytes, sha256 0{64}; manifest.json records/);
    } finally {
      server.close();
    }
  });
});
