// weights/manifest.json: the size and SHA-256 of every bundled weights file.
// The trainer and the importer record a file here when they write it into
// weights/; `npm run check:weights` (in `npm test` and before every deploy)
// refuses a bundle whose files differ, and the Worker checks each model's
// digest against the same manifest before the model first serves.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { WEIGHTS_DIR } from "./paths";

export const MANIFEST = "manifest.json";

export interface ManifestEntry {
  bytes: number;
  sha256: string;
}

/** File name (inside weights/) → its size and digest. */
export type Manifest = Record<string, ManifestEntry>;

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function readManifest(dir = WEIGHTS_DIR): Manifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}

function writeManifest(dir: string, manifest: Manifest): void {
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(sorted, null, 2)}\n`);
}

/**
 * Records `path` in its directory's manifest when that directory is the
 * bundled weights/ (or `dir`); a file written anywhere else (--out) is not
 * bundled and is left alone. Returns whether the manifest changed.
 * @example
 * writeFileSync(out, bytes); updateManifest(out);
 */
export function updateManifest(path: string, dir = WEIGHTS_DIR): boolean {
  const file = resolve(path);
  if (dirname(file) !== resolve(dir) || !file.endsWith(".safetensors")) return false;
  const bytes = readFileSync(file);
  const manifest = readManifest(dir);
  manifest[basename(file)] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
  writeManifest(dir, manifest);
  return true;
}

/**
 * Every way the weights directory differs from its manifest: a listed file
 * that is missing or whose size or digest differs, and a weights file the
 * manifest does not list. Empty when the bundle is the recorded one.
 */
export function checkManifest(dir = WEIGHTS_DIR): string[] {
  const problems: string[] = [];
  if (!existsSync(join(dir, MANIFEST))) return [`${join(dir, MANIFEST)} is missing; write it with \`npm run check:weights -- --update\``];
  const manifest = readManifest(dir);
  const fix = "retrain or re-import it (they update the manifest), or restore it with `git checkout -- weights/`";
  for (const [name, want] of Object.entries(manifest)) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      problems.push(`${path}: listed in ${MANIFEST} but missing; ${fix}`);
      continue;
    }
    const bytes = readFileSync(path);
    const got = sha256(bytes);
    if (bytes.byteLength !== want.bytes || got !== want.sha256)
      problems.push(`${path}: ${bytes.byteLength} bytes, sha256 ${got}; ${MANIFEST} records ${want.bytes} bytes, sha256 ${want.sha256}; ${fix}`);
  }
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".safetensors") && statSync(join(dir, f)).isFile()))
    if (!(name in manifest)) problems.push(`${join(dir, name)}: not listed in ${MANIFEST}; record it with \`npm run check:weights -- --update\``);
  return problems;
}
