// Builds the Worker into dist-worker/, which wrangler uploads as it is
// (wrangler.toml: main, no_bundle, [build]): ES modules split at every
// dynamic import() (scripts/lib/worker-build.ts says why), the Wasm kernels
// and the weights. Prints the modules' sizes, and those start-up compiles.
//
//   npm run build:worker     (wrangler's [build] command: dev, deploy, check startup)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { command } from "./lib/cli";
import { ROOT } from "./lib/paths";
import { buildWorker } from "./lib/worker-build";

command({ name: "build:worker", usage: "usage: npm run build:worker", options: {} });

const OUT = join(ROOT, "dist-worker");
const { modules, startup } = await buildWorker(OUT);
const sizes = (files: string[]) => {
  const bytes = files.map((f) => readFileSync(join(OUT, f)));
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  return `${kib(bytes.reduce((s, b) => s + b.length, 0))} (${kib(bytes.reduce((s, b) => s + gzipSync(b).length, 0))} gzip'd)`;
};
console.log(`dist-worker: ${modules.length} modules, ${sizes(modules)}; start-up compiles ${startup.length} of them, ${sizes(startup)}`);
