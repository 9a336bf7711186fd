// The Open Inference Protocol (KServe v2 REST), as Triton, KServe and
// MLServer serve it, so existing inference clients call this service
// unchanged. Errors are the shared problem+json, whose `error` member is the
// `{"error": "..."}` these clients read.
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { endTime } from "hono/timing";
import type { ModelFile } from "../model/format";
import { argmax, softmax } from "../nn/functions";
import { type AppEnv, limits } from "./env";
import { getModel, infer, requireModel, startParse } from "./inference";
import { describe, tooMany } from "./input";
import { badRequest, ProblemError } from "./problem";
import { problem } from "./schemas";
import { validationHook } from "./validation";

const VERSION = "1";
const OUTPUTS = ["probabilities", "label", "logits"] as const;
const DEFAULT_OUTPUTS = ["probabilities", "label"];

const Tensor = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) }).openapi("OipTensorMetadata");
const ServerMetadata = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }).openapi("OipServerMetadata");
const ModelMetadata = z
  .object({ name: z.string(), versions: z.array(z.string()), platform: z.string(), inputs: z.array(Tensor), outputs: z.array(Tensor) })
  .openapi("OipModelMetadata");
const Ready = z.object({ name: z.string().optional(), ready: z.boolean() });
const InferInput = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string().openapi({ example: "FP32", description: "FP32 (values in [0, 1]) or UINT8 (0-255)" }),
  parameters: z.record(z.string(), z.unknown()).optional(),
  // Checked value by value by tensorToInput, which points at the first bad one
  // (a zod array schema would visit every value again).
  data: z
    .custom<unknown[]>((v) => Array.isArray(v), { message: "expected an array of values" })
    .openapi({ type: "array", items: {}, description: "Row-major values, flat or nested to the shape" }),
});
const InferRequest = z
  .object({
    id: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    inputs: z.array(InferInput).min(1),
    outputs: z.array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() })).optional(),
  })
  .openapi("OipInferRequest");
const InferOutput = z.object({ name: z.string(), shape: z.array(z.number().int()), datatype: z.string(), data: z.array(z.number()) });
const InferResponse = z
  .object({ model_name: z.string(), model_version: z.string().optional(), id: z.string().optional(), outputs: z.array(InferOutput) })
  .openapi("OipInferResponse");

const Model = z.object({ model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }) });
const ModelVersion = Model.extend({ version: z.string().openapi({ param: { name: "version", in: "path" }, example: "1" }) });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const tags = ["Open Inference Protocol"];

function checkVersion(version: string | undefined): void {
  if (version !== undefined && version !== VERSION)
    throw new ProblemError(404, { detail: `model version "${version}" not found; the only version is "${VERSION}"` });
}

function modelMetadata(c: Context<AppEnv>, name: string, version?: string) {
  checkVersion(version);
  const m = getModel(c, name); // 404 / 503
  const D = m.network.layers[0].inSize;
  const C = m.labels.length;
  return {
    name,
    versions: [VERSION],
    platform: "mnist-edge",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, D] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, C] },
      { name: "label", datatype: "INT64", shape: [-1] },
    ],
  };
}

function ready(c: Context<AppEnv>, name: string, version?: string) {
  checkVersion(version);
  requireModel(c, name);
  try {
    // A readiness probe warms the model: decoding now spares the first inference.
    c.var.registry.get(name);
  } catch (e) {
    throw new ProblemError(400, { detail: `model "${name}" is not ready: ${(e as Error).message}` });
  }
  return { name, ready: true };
}

type InferBody = z.infer<typeof InferRequest>;

/** Flattens `data` (flat or nested to `shape`) into x, checking every value. */
function tensorToInput(c: Context<AppEnv>, input: InferBody["inputs"][number], model: ModelFile): { x: Float32Array; N: number } {
  const at = "/inputs/0";
  const { shape, datatype } = input;
  const D = model.network.layers[0].inSize;
  if (datatype !== "FP32" && datatype !== "UINT8")
    badRequest(`datatype "${datatype}" is not supported; use FP32 (values in [0, 1]) or UINT8 (0-255)`, `${at}/datatype`);
  // [N, D], [N, rows, cols] or [N, 1, rows, cols]: a batch of images.
  const image = shape.slice(1).filter((d, i) => !(d === 1 && i === 0 && shape.length === 4));
  const N = shape[0];
  const fits = shape.length >= 2 && N >= 1 && (image.join() === String(D) || image.join() === model.inputShape.join());
  if (!fits) badRequest(`shape [${shape}] is not a batch of images; use [N, ${D}] or [N, ${model.inputShape.join(", ")}] with N ≥ 1`, `${at}/shape`);
  const { maxBatch } = limits(c.env);
  if (N > maxBatch) tooMany(N, maxBatch);
  const total = N * D;
  const max = datatype === "UINT8" ? 255 : 1;
  const k = 255 / max / model.inputScale;
  const x = new Float32Array(total);
  const bad = (v: unknown, ptr: string): never => badRequest(`${describe(v)} is not a ${datatype} pixel value in [0, ${max}]`, ptr);
  const ok = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= max && (datatype !== "UINT8" || Number.isInteger(v));
  let n = 0;
  // Nested data may go no deeper than the shape: the depth is bounded, so is
  // the recursion, whatever the client sends.
  const walk = (v: unknown, ptr: string, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= shape.length) badRequest(`data is nested deeper than shape [${shape}]`, ptr);
      for (let i = 0; i < v.length; i++) walk(v[i], `${ptr}/${i}`, depth + 1);
      return;
    }
    if (!ok(v)) bad(v, ptr);
    if (n >= total) badRequest(`more values than shape [${shape}] holds (${total})`, ptr);
    x[n++] = (v as number) * k;
  };
  const data = input.data;
  // The flat case is the common one; keep it a tight loop.
  if (data.length === total && typeof data[0] === "number") {
    for (let i = 0; i < total; i++) {
      const v = data[i];
      if (!ok(v)) bad(v, `${at}/data/${i}`);
      x[i] = (v as number) * k;
    }
    n = total;
  } else walk(data, `${at}/data`, 0);
  if (n !== total) badRequest(`${n} values but shape [${shape}] needs ${total}`, `${at}/data`);
  return { x, N };
}

function runInfer(c: Context<AppEnv>, name: string, body: InferBody, version?: string) {
  checkVersion(version);
  if (body.inputs.length !== 1) badRequest(`${body.inputs.length} input tensors; this model takes one, "input" [N, 784]`, "/inputs");
  if (c.req.header("inference-header-content-length") !== undefined)
    badRequest("the binary tensor data extension is not supported; send tensors as JSON (tritonclient: binary_data=False)");
  // No outputs (or an empty list) means every declared output; logits is an
  // extra that may be asked for by name.
  const wanted = body.outputs?.length ? body.outputs.map((o) => o.name) : DEFAULT_OUTPUTS;
  wanted.forEach((o, i) => {
    if (!(OUTPUTS as readonly string[]).includes(o)) badRequest(`unknown output "${o}"; available: ${OUTPUTS.join(", ")}`, `/outputs/${i}/name`);
  });
  const model = getModel(c, name);
  const C = model.labels.length;
  const { x, N } = tensorToInput(c, body.inputs[0], model);
  endTime(c, "parse");
  // One forward pass: logits, then softmax on a copy when probabilities are wanted.
  const wantsProbabilities = wanted.includes("probabilities");
  const logits = infer(c, model, x, N, wantsProbabilities && !wanted.includes("logits") ? "probabilities" : "logits");
  const probabilities = !wantsProbabilities ? logits : wanted.includes("logits") ? softmax(new Float32Array(logits), C) : logits;
  const labels = Array.from(argmax(logits, C));
  const outputs = wanted.map((o) => {
    if (o === "label") return { name: o, shape: [N], datatype: "INT64", data: labels };
    return { name: o, shape: [N, C], datatype: "FP32", data: Array.from(o === "logits" ? logits : probabilities) };
  });
  return { model_name: name, model_version: VERSION, ...(body.id !== undefined ? { id: body.id } : {}), outputs };
}

const infer400 = {
  400: problem("Bad request: datatype, shape, data or outputs; `pointer` names the first bad element"),
  404: problem("Unknown model or version"),
  413: problem("Body or batch over the limit"),
  503: problem("The model's weights failed to decode"),
};

/** Inference clients often send JSON without a Content-Type; read it as JSON. */
async function jsonByDefault(c: Context, next: () => Promise<void>): Promise<void> {
  if (!c.req.header("content-type")) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  await next();
}

// Each model route comes twice: with and without the optional /versions/{v}.
const modelGet = <P extends string, Q extends typeof Model | typeof ModelVersion, R extends RouteConfig["responses"]>(
  path: P,
  params: Q,
  summary: string,
  responses: R,
) => createRoute({ method: "get", path, tags, summary, request: { params }, responses });

const readyRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  modelGet(path, params, "Model readiness (a probe decodes the model, warming it)", {
    200: json(Ready, "Ready"),
    400: problem("Not ready: the weights failed to decode"),
    404: problem("Unknown model or version"),
  });

const metadataRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  modelGet(path, params, "Model metadata", {
    200: json(ModelMetadata, "Model metadata"),
    404: problem("Unknown model or version"),
    503: problem("Weights failed to decode"),
  });

const inferRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  createRoute({
    method: "post",
    path,
    tags,
    summary: "Inference request (Open Inference Protocol)",
    middleware: [startParse, jsonByDefault] as const,
    request: { params, body: { required: true, content: { "application/json": { schema: InferRequest } } } },
    responses: { 200: json(InferResponse, "Inference response"), ...infer400 },
  });

export const oip = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(createRoute({ method: "get", path: "/v2", tags, summary: "Server metadata", responses: { 200: json(ServerMetadata, "Server metadata") } }), (c) =>
    c.json({ name: "mnist-edge", version: "0.1.0", extensions: [] }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v2/health/live",
      tags,
      summary: "Server liveness",
      responses: { 200: json(Ready.pick({ ready: true }).extend({ live: z.boolean() }), "Live") },
    }),
    (c) => c.json({ live: true, ready: true }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v2/health/ready",
      tags,
      summary: "Server readiness: every model's weights are intact (checked from their headers, without decoding)",
      responses: { 200: json(Ready, "Ready"), 400: problem("Not ready: a model's weights are broken") },
    }),
    async (c) => {
      const registry = c.var.registry;
      await registry.cards(); // reads each header once; broken ones are recorded
      const failures = registry.failures();
      if (failures.length)
        throw new ProblemError(400, { detail: `not ready: ${failures.map((f) => `model "${f.name}": ${f.error}`).join("; ")}`, ready: false });
      return c.json({ ready: true }, 200);
    },
  )
  .openapi(readyRoute("/v2/models/{model}/ready", Model), (c) => c.json(ready(c, c.req.valid("param").model), 200))
  .openapi(readyRoute("/v2/models/{model}/versions/{version}/ready", ModelVersion), (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(ready(c, p.model, p.version), 200);
  })
  .openapi(metadataRoute("/v2/models/{model}", Model), (c) => c.json(modelMetadata(c, c.req.valid("param").model), 200))
  .openapi(metadataRoute("/v2/models/{model}/versions/{version}", ModelVersion), (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(modelMetadata(c, p.model, p.version), 200);
  })
  .openapi(inferRoute("/v2/models/{model}/infer", Model), (c) => c.json(runInfer(c, c.req.valid("param").model, c.req.valid("json")), 200))
  .openapi(inferRoute("/v2/models/{model}/versions/{version}/infer", ModelVersion), (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(runInfer(c, p.model, c.req.valid("json"), p.version), 200);
  });
