// The answers of the Open Inference Protocol's routes, which src/http/oip.ts
// declares (paths, descriptions, middleware) and loads this module for on
// the first request that needs one: an isolate's start-up evaluates none of
// it, nor the binary form's codec and the statistics it uses.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import { infer, MODEL_VERSION, requireModel, requireVersion } from "./inference";
import { tensorImages } from "./input";
import {
  binaryInputs,
  binaryOutputs,
  binaryTensorImages,
  checkInferParameters,
  encodeBinaryAnswer,
  type InferAnswer,
  jsonAnswer,
  type OutputTensor,
  splitBinaryBody,
} from "./oip-binary";
import { BINARY_TYPE, HEADER_LENGTH } from "./oip-names";
import { indexRequest, repositoryIndex, statisticsOf } from "./oip-stats";
import { badRequest, excerpt, ProblemError } from "./problem";
import { type Schemas, schemas } from "./described";
import { jsonBody } from "./validation";

/** Every output a model can return, each declared in its metadata. */
const OUTPUTS = ["probabilities", "label", "logits"] as const;

/** `<project>_<format>`, as Triton's platform names read (e.g. onnxruntime_onnx). */
const PLATFORM = "mnist-edge_safetensors";

/** Model metadata from the header alone: describing a model does not decode it. */
export async function modelMetadata(c: Context<AppEnv>, name: string, version?: string) {
  requireVersion(version);
  requireModel(c, name);
  const spec = await c.var.registry.spec(name); // 503 when the weights are broken
  const D = spec.sizes[0];
  const C = spec.labels.length;
  return {
    name,
    versions: [MODEL_VERSION],
    platform: PLATFORM,
    // A convolutional model reads channels × rows × columns; [N, D] is taken too.
    inputs: [{ name: "input", datatype: "FP32", shape: spec.inputShape.length === 3 ? [-1, ...spec.inputShape] : [-1, D] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, C] },
      { name: "label", datatype: "INT64", shape: [-1] },
      { name: "logits", datatype: "FP32", shape: [-1, C] },
    ],
  };
}

/** Not ready is 503 from every probe, as predict and infer answer then. */
function notReady(detail: string, name?: string): never {
  throw new ProblemError(503, { detail, ...(name !== undefined ? { name } : {}), ready: false });
}

export async function modelReady(c: Context<AppEnv>, name: string, version?: string) {
  requireVersion(version);
  requireModel(c, name);
  try {
    // A readiness probe warms the model: decoding now spares the first inference.
    await c.var.registry.model(name);
  } catch (e) {
    notReady(`model "${name}" is not ready: ${(e as Error).message}`, name);
  }
  return { name, ready: true };
}

/** Every model is intact: its digest checked and its header read once (nothing decoded); 503 naming the broken ones. */
export async function serverReady(c: Context<AppEnv>) {
  const registry = c.var.registry;
  await registry.cards(); // checks each digest and reads each header once; broken ones are recorded
  const failures = registry.failures();
  if (failures.length) notReady(`not ready: ${failures.map((f) => `model "${f.name}": ${f.error}`).join("; ")}`);
  return { ready: true } as const;
}

type InferBody = z.infer<ReturnType<Schemas["OipInferRequest"]>>;

/** An answer, which outputs go back binary, and when each phase ended (performance.now()). */
interface Inference extends InferAnswer {
  binary: boolean[];
  N: number;
  parsed: number;
  inferred: number;
}

// A body that is not JSON may be the binary form sent without its header, so the advice names both.
const INFER_EXAMPLE =
  'send an inference request such as {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": [...784 numbers]}]}, ' +
  "or the binary form with an Inference-Header-Content-Length header giving the length of the JSON that starts the body";

async function runInfer(c: Context<AppEnv>): Promise<Inference> {
  const { model, modelName: name } = c.var;
  // The binary form (binary tensor data extension): the JSON request is the
  // first Inference-Header-Content-Length bytes, the tensors follow it.
  const headerLength = c.req.header(HEADER_LENGTH);
  const split = headerLength === undefined ? undefined : splitBinaryBody(c.var.body.bytes, headerLength);
  const body: InferBody = jsonBody(c, (await schemas()).OipInferRequest(), INFER_EXAMPLE, split?.header);
  const D = model.sizes[0];
  checkInferParameters(body);
  // Where each input's values are: JSON data, or bytes after the JSON header.
  const binaryData = binaryInputs(body.inputs, split?.tensors);
  if (body.inputs.length !== 1) badRequest(`${body.inputs.length} input tensors; this model takes one, "input" [N, ${D}]`, "/inputs");
  // No outputs (or an empty list) means every declared output.
  const wanted: string[] = body.outputs?.length ? body.outputs.map((o) => o.name) : [...OUTPUTS];
  wanted.forEach((o, i) => {
    if (!(OUTPUTS as readonly string[]).includes(o)) badRequest(`unknown output "${excerpt(o)}"; available: ${OUTPUTS.join(", ")}`, `/outputs/${i}/name`);
    if (wanted.indexOf(o) !== i) badRequest(`output "${o}" is asked for twice; name each output once`, `/outputs/${i}/name`);
  });
  const C = model.labels.length;
  const input = body.inputs[0];
  const bytes = binaryData[0];
  const batch = bytes
    ? binaryTensorImages(input, bytes, model, c.var.limits, "/inputs/0")
    : tensorImages({ ...input, data: input.data ?? [] }, model, c.var.limits, "/inputs/0");
  const { N } = batch;
  const parsed = performance.now();
  // One forward pass. Logits when they are wanted, or when only labels are
  // (the arg-max of softmax(a) is the arg-max of a); probabilities then come
  // from a softmax of a copy.
  const wantsLogits = wanted.includes("logits");
  const wantsProbabilities = wanted.includes("probabilities");
  const y = infer(c, model, batch, wantsProbabilities && !wantsLogits ? "probabilities" : "logits");
  const inferred = performance.now();
  const probabilities = wantsProbabilities && wantsLogits ? model.network.softmax(new Float32Array(y), C) : y;
  const labels = argmax(y, C);
  const outputs = wanted.map((o): OutputTensor => {
    if (o === "label") return { name: o, shape: [N], datatype: "INT64", data: labels };
    return { name: o, shape: [N, C], datatype: "FP32", data: o === "logits" ? y : probabilities };
  });
  const head = { model_name: name, model_version: MODEL_VERSION, ...(typeof body.id === "string" ? { id: body.id } : {}) };
  return { head, outputs, binary: binaryOutputs(body, wanted), N, parsed, inferred };
}

/**
 * Runs an inference request and answers it: JSON, or the binary form when an
 * output is asked for as binary data. Counted in the model's statistics.
 */
export async function answerInfer(c: Context<AppEnv>) {
  const stats = statisticsOf(c.var.registry);
  const name = c.var.modelName;
  const start = performance.now();
  try {
    const inference = await runInfer(c);
    const binary = encodeBinaryAnswer(inference, inference.binary);
    const json = binary ? undefined : jsonAnswer(inference);
    const times = {
      compute_input: inference.parsed - start,
      compute_infer: inference.inferred - inference.parsed,
      compute_output: performance.now() - inference.inferred,
    };
    stats.success(name, MODEL_VERSION, inference.N, times);
    // Cast: the typed client reads the JSON form; the binary form is documented in OpenAPI.
    if (binary)
      return c.body(binary.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": BINARY_TYPE, [HEADER_LENGTH]: String(binary.headerLength) }) as never;
    return c.json(json as NonNullable<typeof json>, 200);
  } catch (e) {
    stats.failure(name, MODEL_VERSION, performance.now() - start);
    throw e;
  }
}

/** $stats_model_response for one model, or every model when `name` is undefined. */
export function modelStats(c: Context<AppEnv>, name?: string, version?: string) {
  requireVersion(version);
  if (name !== undefined) requireModel(c, name);
  return statisticsOf(c.var.registry).report(name === undefined ? c.var.registry.names() : [name], MODEL_VERSION);
}

/** The repository index: every model, or the ready ones alone when the body asks. */
export async function modelIndex(c: Context<AppEnv>) {
  const request = indexRequest(new TextDecoder().decode(c.var.body.bytes));
  if (typeof request === "string") badRequest(request);
  return repositoryIndex(await c.var.registry.cards(), MODEL_VERSION, request.ready);
}
