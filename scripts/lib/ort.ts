// onnxruntime-web as the benchmarks run it: the wasm execution provider, one
// thread, every graph optimisation, over the network's ONNX graph
// (scripts/lib/onnx.ts). Shared by `npm run bench` (scripts/bench.ts) and
// `npm run bench:http` (scripts/bench-http.ts), so the peer both measure is
// set up one way.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-web";
import type { Network } from "../../src/nn/network";
import { onnxModel } from "./onnx";

const require = createRequire(import.meta.url);

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = `${dirname(require.resolve("onnxruntime-web"))}/`;

/** The installed onnxruntime-web's version. */
export const ORT_VERSION = (JSON.parse(readFileSync(join(dirname(require.resolve("onnxruntime-web")), "..", "package.json"), "utf8")) as { version: string })
  .version;

/** Runs a batch x (N, D) and returns the probabilities (N, C). */
export type OrtRun = (x: Float32Array, N: number) => Promise<Float32Array>;

/**
 * A session of onnxruntime-web over the network, as a function of a batch.
 * @example
 * const run = await ortSession(model.network.toNetwork());
 * const y = await run(x, 10000); // (10000, 10) probabilities
 */
export async function ortSession(net: Network): Promise<OrtRun> {
  const session = await ort.InferenceSession.create(onnxModel(net), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const D = net.layers[0].inSize;
  return async function run(x, N) {
    const out = await session.run({ x: new ort.Tensor("float32", x, [N, D]) });
    return out.y.data as Float32Array;
  };
}
