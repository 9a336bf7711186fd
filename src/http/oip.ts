// The Open Inference Protocol (KServe v2 REST), as Triton, KServe and
// MLServer serve it, so existing inference clients call this service
// unchanged. Only the protocol lives here: routes, metadata and the shape of
// answers; bodies become input in src/http/input.ts. Errors are the shared
// problem+json, whose `error` member is the `{"error": "..."}` these clients read.
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax, softmax } from "../nn/functions";
import { VERSION } from "../version";
import type { AppEnv } from "./env";
import { infer, MODEL_VERSION, requireModel, requireVersion, withModel } from "./inference";
import { tensorImages } from "./input";
import { badRequest, ProblemError } from "./problem";
import { OipInferRequest, OipInferResponse, OipLive, OipModelMetadata, OipReady, OipServerMetadata, problem } from "./schemas";
import { validationHook } from "./validation";

const OUTPUTS = ["probabilities", "label", "logits"] as const;
const DEFAULT_OUTPUTS = ["probabilities", "label"];

const Model = z.object({ model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }) });
const ModelVersion = Model.extend({ version: z.string().openapi({ param: { name: "version", in: "path" }, example: "1" }) });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const tags = ["Open Inference Protocol"];

/** Model metadata from the header alone: describing a model does not decode it. */
function modelMetadata(c: Context<AppEnv>, name: string, version?: string) {
  requireVersion(version);
  requireModel(c, name);
  const header = c.var.registry.header(name); // 503 when the header is broken
  const D = header.sizes[0];
  const C = header.labels.length;
  return {
    name,
    versions: [MODEL_VERSION],
    platform: "mnist-edge",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, D] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, C] },
      { name: "label", datatype: "INT64", shape: [-1] },
    ],
  };
}

function modelReady(c: Context<AppEnv>, name: string, version?: string) {
  requireVersion(version);
  requireModel(c, name);
  try {
    // A readiness probe warms the model: decoding now spares the first inference.
    c.var.registry.get(name);
  } catch (e) {
    throw new ProblemError(400, { detail: `model "${name}" is not ready: ${(e as Error).message}` });
  }
  return { name, ready: true };
}

type InferBody = z.infer<typeof OipInferRequest>;

function runInfer(c: Context<AppEnv>, body: InferBody) {
  const model = c.var.model;
  const name = c.req.param("model") as string;
  const D = model.sizes[0];
  if (body.inputs.length !== 1) badRequest(`${body.inputs.length} input tensors; this model takes one, "input" [N, ${D}]`, "/inputs");
  if (c.req.header("inference-header-content-length") !== undefined)
    badRequest("the binary tensor data extension is not supported; send tensors as JSON (tritonclient: binary_data=False)");
  // No outputs (or an empty list) means every declared output; logits is an
  // extra that may be asked for by name.
  const wanted = body.outputs?.length ? body.outputs.map((o) => o.name) : DEFAULT_OUTPUTS;
  wanted.forEach((o, i) => {
    if (!(OUTPUTS as readonly string[]).includes(o)) badRequest(`unknown output "${o}"; available: ${OUTPUTS.join(", ")}`, `/outputs/${i}/name`);
  });
  const C = model.labels.length;
  const batch = tensorImages(body.inputs[0], model, c.var.limits, "/inputs/0");
  const { N } = batch;
  // One forward pass. Logits when they are wanted, or when only labels are
  // (the arg-max of softmax(a) is the arg-max of a); probabilities then come
  // from a softmax of a copy.
  const wantsLogits = wanted.includes("logits");
  const wantsProbabilities = wanted.includes("probabilities");
  const y = infer(c, model, batch, wantsProbabilities && !wantsLogits ? "probabilities" : "logits");
  const probabilities = wantsProbabilities && wantsLogits ? softmax(new Float32Array(y), C) : y;
  const labels = Array.from(argmax(y, C));
  const outputs = wanted.map((o) => {
    if (o === "label") return { name: o, shape: [N], datatype: "INT64", data: labels };
    return { name: o, shape: [N, C], datatype: "FP32", data: Array.from(o === "logits" ? y : probabilities) };
  });
  return { model_name: name, model_version: MODEL_VERSION, ...(body.id !== undefined ? { id: body.id } : {}), outputs };
}

const inferErrors = {
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
    200: json(OipReady, "Ready"),
    400: problem("Not ready: the weights failed to decode"),
    404: problem("Unknown model or version"),
  });

const metadataRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  modelGet(path, params, "Model metadata (from the weights' header; nothing is decoded)", {
    200: json(OipModelMetadata, "Model metadata"),
    404: problem("Unknown model or version"),
    503: problem("The weights' header is broken"),
  });

const inferRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  createRoute({
    method: "post",
    path,
    tags,
    summary: "Inference request (Open Inference Protocol)",
    middleware: [withModel, jsonByDefault] as const,
    request: { params, body: { required: true, content: { "application/json": { schema: OipInferRequest } } } },
    responses: { 200: json(OipInferResponse, "Inference response"), ...inferErrors },
  });

export const oip = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(createRoute({ method: "get", path: "/v2", tags, summary: "Server metadata", responses: { 200: json(OipServerMetadata, "Server metadata") } }), (c) =>
    c.json({ name: "mnist-edge", version: VERSION, extensions: [] }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v2/health/live",
      tags,
      summary: "Server liveness: the process answers (readiness is /v2/health/ready)",
      responses: { 200: json(OipLive, "Live") },
    }),
    (c) => c.json({ live: true }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v2/health/ready",
      tags,
      summary: "Server readiness: every model's weights are intact (checked from their headers, without decoding)",
      responses: { 200: json(OipReady, "Ready"), 400: problem("Not ready: a model's weights are broken") },
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
  .openapi(readyRoute("/v2/models/{model}/ready", Model), (c) => c.json(modelReady(c, c.req.valid("param").model), 200))
  .openapi(readyRoute("/v2/models/{model}/versions/{version}/ready", ModelVersion), (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(modelReady(c, p.model, p.version), 200);
  })
  .openapi(metadataRoute("/v2/models/{model}", Model), (c) => c.json(modelMetadata(c, c.req.valid("param").model), 200))
  .openapi(metadataRoute("/v2/models/{model}/versions/{version}", ModelVersion), (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(modelMetadata(c, p.model, p.version), 200);
  })
  .openapi(inferRoute("/v2/models/{model}/infer", Model), (c) => c.json(runInfer(c, c.req.valid("json")), 200))
  .openapi(inferRoute("/v2/models/{model}/versions/{version}/infer", ModelVersion), (c) => c.json(runInfer(c, c.req.valid("json")), 200));
