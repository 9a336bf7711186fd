// Where the scripts find things. The repository's own folders are resolved
// from this file, so a script run from any directory reads and writes the
// same files; the data sets live outside it (test/fixtures/datasets.ts says
// where, and which environment variables override that).
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export { BOOK_WEIGHTS, FASHION_DIR, MNIST_DIR } from "../../test/fixtures/datasets";

/** The repository's root folder. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The bundled weights and their manifest. */
export const WEIGHTS_DIR = join(ROOT, "weights");
/** Figures the measuring scripts write (bench/results.json, ...). */
export const BENCH_DIR = join(ROOT, "bench");

/** The file of a bundled model: weights/<name>.safetensors. */
export const weightsFile = (name: string) => join(WEIGHTS_DIR, `${name}.safetensors`);
