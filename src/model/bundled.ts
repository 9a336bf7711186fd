// The weights bundled into the Worker, as Data modules (see wrangler.toml):
// each import is the file's bytes, an ArrayBuffer; nothing is decoded here.
import fashionMlp from "../../weights/fashion-mlp.safetensors";
import mnistBook from "../../weights/mnist-book.safetensors";
import mnistMlp from "../../weights/mnist-mlp.safetensors";
import { wasmKernel } from "../nn/wasm";
import { BUNDLED_DIGESTS } from "./integrity";
import { ModelRegistry } from "./registry";

export const DEFAULT_MODEL = "mnist-mlp";

export const BUNDLED: Record<string, ArrayBuffer> = {
  "mnist-mlp": mnistMlp,
  "mnist-book": mnistBook,
  "fashion-mlp": fashionMlp,
};

// Room in the kernel's memory for every bundled model decoded at once: F32
// takes at most twice the bytes of a file (of F16), plus the largest file's raw
// bytes while it converts. Made ready now, while the isolate starts, so a
// first request's decode does not pay for the memory.
const fileBytes = Object.values(BUNDLED).map((b) => b.byteLength);
wasmKernel()?.reserve(2 * fileBytes.reduce((a, b) => a + b, 0) + Math.max(...fileBytes));

/** The registry of the bundled models, one per isolate, each checked against the manifest before it serves. */
export const bundledRegistry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
