// The Worker's build (scripts/build-worker.ts, which wrangler runs as its
// [build] command): src/index.ts bundled by esbuild and split into ES
// modules at every dynamic import(). The modules a first request may never
// need (zod and the OpenAPI libraries with the schemas, the document, the
// picture decoders, fflate, the OIP routes' answers) are chunks of their own, which workerd compiles
// only when they are first imported; in one bundle, as wrangler builds it,
// start-up compiled all of them (BENCHMARKS.md, "Bundle and start-up"). The
// Wasm kernels and the weights are copied beside them, and each import of
// one becomes an import of the copy (a CompiledWasm or Data module, by
// wrangler.toml's rules).
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { ROOT } from "./paths";

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

export interface WorkerBuild {
  /** esbuild's account of it: each output's inputs and imports. */
  metafile: Metafile;
  /** The JS modules, as paths relative to the output folder (index.js, chunks/…). */
  modules: string[];
  /** Those start-up compiles: index.js and what it imports statically, transitively. */
  startup: string[];
}

/**
 * Builds the Worker into `outdir`, emptied first but for index.d.ts (which
 * is the source's types, committed in dist-worker/).
 * @example const { startup } = await buildWorker(join(ROOT, "dist-worker"));
 */
export async function buildWorker(outdir: string): Promise<WorkerBuild> {
  if (existsSync(outdir)) for (const f of readdirSync(outdir)) if (f !== "index.d.ts") rmSync(join(outdir, f), { recursive: true });
  const { metafile } = await build({
    entryPoints: [join(ROOT, "src", "index.ts")],
    outdir,
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
    absWorkingDir: ROOT,
  });
  const outputs = metafile.outputs;
  const name = (file: string) => relative(outdir, join(ROOT, file));
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of outputs[file]?.imports ?? []) if (i.kind === "import-statement" && i.path.endsWith(".js")) visit(i.path);
  };
  const entry = Object.keys(outputs).find((f) => outputs[f].entryPoint);
  if (!entry) throw new Error("esbuild wrote no entry module: is src/index.ts there?");
  visit(entry);
  return {
    metafile,
    modules: Object.keys(outputs)
      .filter((f) => f.endsWith(".js"))
      .map(name),
    startup: [...seen].map(name),
  };
}
