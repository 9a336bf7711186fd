// The built Worker (wrangler.toml main, built by scripts/build-worker.ts) is
// src/index.ts: its types are the source's, for `wrangler types`
// (worker-configuration.d.ts) and whoever imports it.
export * from "../src/index";
export { default } from "../src/index";
