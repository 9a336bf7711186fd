// The weights bundled into the Worker, as Data modules (see wrangler.toml):
// each import is the file's bytes, an ArrayBuffer. None of them is decoded
// here: each is decoded on its model's first request.
import fashionMlp from "../../weights/fashion-mlp.safetensors";
import mnistBook from "../../weights/mnist-book.safetensors";
import mnistMlp from "../../weights/mnist-mlp.safetensors";
import { wasmKernel } from "../nn/wasm";
import { decodeModel, encodeModel } from "./format";
import { BUNDLED_DIGESTS } from "./integrity";
import { ModelRegistry } from "./registry";

import { DEFAULT_MODEL, type ModelName } from "./catalog";

export { DEFAULT_MODEL };

export const BUNDLED: Record<string, ArrayBuffer> & Record<ModelName, ArrayBuffer> = {
  "mnist-mlp": mnistMlp,
  "mnist-book": mnistBook,
  "fashion-mlp": fashionMlp,
};

// Room in the kernel's memory for every bundled model decoded at once: F32
// takes at most twice the bytes of a file (of F16), plus the largest file's raw
// bytes while it converts. Made ready now, while the isolate starts, so a
// first request's decode does not pay for the memory.
const fileBytes = Object.values(BUNDLED).map((b) => b.byteLength);
const kernel = wasmKernel();
kernel?.reserve(2 * fileBytes.reduce((a, b) => a + b, 0) + Math.max(...fileBytes));
// V8 compiles a function on its first call: the decoder's first run is on a
// one-weight model made here, so it is not on the first request. (The bundled
// weights are decoded lazily, on each model's first request.)
const mark = kernel?.mark();
decodeModel(
  encodeModel(
    { layers: [{ W: new Float32Array(1), b: new Float32Array(1), inSize: 1, outSize: 1, activation: "identity" }] },
    { dtype: "F16", labels: ["warm"], inputShape: [1] },
  ),
);
if (mark !== undefined) kernel?.release(mark);

/** The registry of the bundled models, one per isolate, each checked against the manifest before it serves. */
export const bundledRegistry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
