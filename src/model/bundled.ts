// The weights bundled into the Worker, as Data modules (see wrangler.toml):
// each import is the file's bytes, an ArrayBuffer, one per model of the
// catalog. None of them is decoded here: each is decoded on its model's
// first request, by the registry src/index.ts makes over them.
import fashionMlp from "../../weights/fashion-mlp.safetensors";
import mnistBook from "../../weights/mnist-book.safetensors";
import mnistCnn from "../../weights/mnist-cnn.safetensors";
import mnistMlp from "../../weights/mnist-mlp.safetensors";
import type { ModelName } from "./catalog";

export const BUNDLED: Record<string, ArrayBuffer> & Record<ModelName, ArrayBuffer> = {
  "mnist-cnn": mnistCnn,
  "mnist-mlp": mnistMlp,
  "mnist-book": mnistBook,
  "fashion-mlp": fashionMlp,
};
