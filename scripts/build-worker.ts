// Builds the Worker into dist-worker/, which wrangler uploads as it is
// (wrangler.toml: main, no_bundle, [build]): one ES module per entry and per
// chunk, split at every dynamic import(). The modules a first request may
// never need (zod and the OpenAPI libraries with the schemas, the document,
// the picture decoders, fflate) are chunks of their own, which workerd
// compiles only when they are first imported; in one bundle, as wrangler
// builds it, start-up compiled all of them (BENCHMARKS.md, "Bundle and
// start-up"). The Wasm kernels and the weights are copied beside them, and
// each import of one becomes an import of the copy (a CompiledWasm or Data
// module, by wrangler.toml's rules).
//
//   npm run build:worker     (wrangler's [build] command: dev, deploy, check startup)
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { command } from "./lib/cli";
import { ROOT } from "./lib/paths";

command({ name: "build:worker", usage: "usage: npm run build:worker", options: {} });

const OUT = join(ROOT, "dist-worker");
// index.d.ts stays: it is the source's, not built (it says why).
if (existsSync(OUT)) for (const f of readdirSync(OUT)) if (f !== "index.d.ts") rmSync(join(OUT, f), { recursive: true });

// zod's `locales` namespace, re-exported by zod (z.locales, z.core.locales),
// holds 41 languages; its messages use English alone, and so does the service.
const englishOnly: Plugin = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      /[\\/]zod[\\/]v4[\\/]/.test(importer) ? { path: join(ROOT, "src", "http", "zod-locales.ts") } : undefined,
    );
  },
};

const result = await build({
  entryPoints: [join(ROOT, "src", "index.ts")],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  // As wrangler builds: workerd's V8 runs ES2024 as written, and packages
  // resolve to their workerd (or worker, or browser) builds.
  target: "es2024",
  conditions: ["workerd", "worker", "browser"],
  minify: true,
  // Minified names in stack traces: wrangler uploads these maps with the
  // modules (upload_source_maps), and the dashboard's traces name the source.
  sourcemap: "linked",
  // In a folder of their own: wrangler.toml's ESModule rule takes chunks/*.js
  // and nothing else (the worker tests load packages by the same rules).
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".wasm": "copy", ".safetensors": "copy" },
  plugins: [englishOnly],
  metafile: true,
  logLevel: "warning",
});

// What start-up compiles: the entry and the chunks it imports statically.
const outputs = result.metafile.outputs;
const startup = new Set<string>();
const visit = (file: string) => {
  if (startup.has(file)) return;
  startup.add(file);
  for (const i of outputs[file]?.imports ?? []) if (i.kind === "import-statement" && i.path.endsWith(".js")) visit(i.path);
};
visit(Object.keys(outputs).find((f) => outputs[f].entryPoint) ?? "");
const js = Object.keys(outputs).filter((f) => f.endsWith(".js"));
const size = (files: string[]) => files.reduce((s, f) => s + statSync(join(ROOT, f)).size, 0);
const gzipped = (files: string[]) => files.reduce((s, f) => s + gzipSync(readFileSync(join(ROOT, f))).length, 0);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `dist-worker: ${js.length} modules, ${kb(size(js))} (${kb(gzipped(js))} gzip'd); at start-up ${[...startup].map((f) => basename(f)).join(", ")}: ${kb(size([...startup]))} (${kb(gzipped([...startup]))} gzip'd)`,
);
