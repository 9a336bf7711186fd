// npm run check:weights [-- --dir weights] [-- --update] [-- --url https://…]
//
// Refuses (exit 1) when a bundled weights file differs from what
// weights/manifest.json records: size, SHA-256, missing or unlisted files.
// Runs in `npm test` and before `npm run deploy`. --update records the files
// as they are now, for a file copied into weights/ by hand. --url also asks a
// deployed service for its model cards (GET /v1/models) and refuses when the
// weights it serves are not the committed ones.
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { command } from "./lib/cli";
import { checkManifest, MANIFEST, readManifest, updateManifest } from "./lib/manifest";
import { WEIGHTS_DIR } from "./lib/paths";

const { values } = command({
  name: "check-weights",
  usage: "usage: npm run check:weights [-- --dir weights] [-- --update] [-- --url https://mnist-edge.example.workers.dev]",
  options: { dir: { type: "string" }, update: { type: "boolean" }, url: { type: "string" } },
});
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

if (values.url) {
  // The deployed cards give each model's size, digest and availability (a
  // model whose bytes fail the Worker's own check is available: false).
  const url = new URL("/v1/models", values.url);
  type Card = { name: string; bytes: number; sha256: string; available: boolean; error?: string };
  let cards: Card[];
  try {
    const res = await fetch(url, { headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    cards = ((await res.json()) as { models: Card[] }).models;
  } catch (e) {
    console.error(`check-weights: GET ${url} failed (${(e as Error).message}); check the URL`);
    process.exit(1);
  }
  const manifest = readManifest(dir);
  const remote: string[] = [];
  for (const [file, want] of Object.entries(manifest)) {
    const name = file.replace(/\.safetensors$/, "");
    const card = cards.find((c) => c.name === name);
    if (!card) remote.push(`${url}: serves no model "${name}"`);
    else if (card.sha256 !== want.sha256 || card.bytes !== want.bytes)
      remote.push(
        `${url}: "${name}" is ${card.bytes} bytes, sha256 ${card.sha256}; ${MANIFEST} records ${want.bytes} bytes, sha256 ${want.sha256}; deploy again`,
      );
    else if (!card.available) remote.push(`${url}: "${name}" matches but is unavailable: ${card.error}`);
    else console.log(`ok ${url} ${name}  sha256 ${card.sha256}`);
  }
  for (const c of cards) if (!(`${c.name}.safetensors` in manifest)) remote.push(`${url}: serves "${c.name}", which ${MANIFEST} does not list`);
  if (remote.length) {
    for (const p of remote) console.error(`check-weights: ${p}`);
    process.exit(1);
  }
}
