// zod's locales as the Worker's build bundles them (scripts/build-worker.ts
// puts this module in place of zod's locales/index.js): English alone, the
// one its messages use. The other 40 were a third of the schemas' chunk
// (367 KiB unminified), compiled on its first import and never used.
export { default as en } from "zod/v4/locales/en.js";
