// npm run check:weights [-- --dir weights] [-- --update]
//
// Refuses (exit 1) when a bundled weights file differs from what
// weights/manifest.json records: size, SHA-256, missing or unlisted files.
// Runs in `npm test` and before `npm run deploy`. --update records the files
// as they are now, for a file copied into weights/ by hand.
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkManifest, MANIFEST, readManifest, updateManifest, WEIGHTS_DIR } from "./lib/manifest";

const usage = "usage: npm run check:weights [-- --dir weights] [-- --update]";
let values: { dir?: string; update?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({ options: { dir: { type: "string" }, update: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
} catch (e) {
  console.error(`check-weights: ${(e as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const dir = resolve(values.dir ?? WEIGHTS_DIR);
const show = (p: string) => relative(process.cwd(), p) || p;

if (values.update) {
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".safetensors"))) updateManifest(join(dir, f), dir);
  console.log(`recorded ${Object.keys(readManifest(dir)).length} files in ${show(join(dir, MANIFEST))}`);
}

const problems = checkManifest(dir);
if (problems.length) {
  for (const p of problems) console.error(`check-weights: ${p}`);
  console.error(`check-weights: ${problems.length} problem(s); the weights in ${show(dir)} are not the ones ${MANIFEST} records`);
  process.exit(1);
}
for (const [name, e] of Object.entries(readManifest(dir))) console.log(`ok ${show(join(dir, name))}  ${e.bytes} bytes  sha256 ${e.sha256}`);
