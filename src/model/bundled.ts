// The weights bundled into the Worker, as Data modules (see wrangler.toml):
// each import is the file's bytes, an ArrayBuffer; nothing is decoded here.
import fashionMlp from "../../weights/fashion-mlp.safetensors";
import mnistBook from "../../weights/mnist-book.safetensors";
import mnistMlp from "../../weights/mnist-mlp.safetensors";
import { BUNDLED_DIGESTS } from "./integrity";
import { ModelRegistry } from "./registry";

export const DEFAULT_MODEL = "mnist-mlp";

export const BUNDLED: Record<string, ArrayBuffer> = {
  "mnist-mlp": mnistMlp,
  "mnist-book": mnistBook,
  "fashion-mlp": fashionMlp,
};

/** The registry of the bundled models, one per isolate, each checked against the manifest before it serves. */
export const bundledRegistry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
