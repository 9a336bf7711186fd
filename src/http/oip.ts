// The Open Inference Protocol (KServe v2 REST), as Triton, KServe and
// MLServer serve it, so existing inference clients call this service
// unchanged. Only the protocol lives here: routes, metadata and the shape of
// answers; bodies become input in src/http/input.ts. Errors are the
// protocol's `{"error": "..."}` as application/json (src/http/problem.ts).
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax } from "../nn/functions";
import { VERSION } from "../version";
import type { AppEnv } from "./env";
import { infer, MODEL_VERSION, requireModel, requireVersion, withModel } from "./inference";
import { tensorImages } from "./input";
import { badRequest, excerpt, ProblemError } from "./problem";
import { OipError, OipInferRequest, OipInferResponse, OipLive, OipModelMetadata, OipReady, OipServerMetadata } from "./schemas";
import { validationHook } from "./validation";

/** Every output a model can return, each declared in its metadata. */
const OUTPUTS = ["probabilities", "label", "logits"] as const;

/** `<project>_<format>`, as Triton's platform names read (e.g. onnxruntime_onnx). */
const PLATFORM = "mnist-edge_safetensors";

/** An error answer of the protocol: `{"error": "..."}`. */
const oipError = (description: string) => ({ description, content: { "application/json": { schema: OipError } } });

const Model = z.object({ model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }) });
const ModelVersion = Model.extend({ version: z.string().openapi({ param: { name: "version", in: "path" }, example: "1" }) });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const tags = ["Open Inference Protocol"];

/** Model metadata from the header alone: describing a model does not decode it. */
async function modelMetadata(c: Context<AppEnv>, name: string, version?: string) {
  requireVersion(version);
  requireModel(c, name);
  const spec = await c.var.registry.spec(name); // 503 when the weights are broken
  const D = spec.sizes[0];
  const C = spec.labels.length;
  return {
    name,
    versions: [MODEL_VERSION],
    platform: PLATFORM,
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, D] }],
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

async function modelReady(c: Context<AppEnv>, name: string, version?: string) {
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

type InferBody = z.infer<typeof OipInferRequest>;

function runInfer(c: Context<AppEnv>, body: InferBody) {
  const model = c.var.model;
  const name = c.req.param("model") as string;
  const D = model.sizes[0];
  if (body.inputs.length !== 1) badRequest(`${body.inputs.length} input tensors; this model takes one, "input" [N, ${D}]`, "/inputs");
  if (c.req.header("inference-header-content-length") !== undefined)
    badRequest("the binary tensor data extension is not supported; send tensors as JSON (tritonclient: binary_data=False)");
  // No outputs (or an empty list) means every declared output.
  const wanted: string[] = body.outputs?.length ? body.outputs.map((o) => o.name) : [...OUTPUTS];
  wanted.forEach((o, i) => {
    if (!(OUTPUTS as readonly string[]).includes(o)) badRequest(`unknown output "${excerpt(o)}"; available: ${OUTPUTS.join(", ")}`, `/outputs/${i}/name`);
    if (wanted.indexOf(o) !== i) badRequest(`output "${o}" is asked for twice; name each output once`, `/outputs/${i}/name`);
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
  const probabilities = wantsProbabilities && wantsLogits ? model.network.softmax(new Float32Array(y), C) : y;
  const labels = Array.from(argmax(y, C));
  const outputs = wanted.map((o) => {
    if (o === "label") return { name: o, shape: [N], datatype: "INT64", data: labels };
    return { name: o, shape: [N, C], datatype: "FP32", data: Array.from(o === "logits" ? y : probabilities) };
  });
  return { model_name: name, model_version: MODEL_VERSION, ...(typeof body.id === "string" ? { id: body.id } : {}), outputs };
}

const inferErrors = {
  400: oipError("Bad request: not JSON, or a bad datatype, shape, data or outputs; `pointer` names the first bad element"),
  401: oipError("API_TOKEN is set and the request has no valid `Authorization: Bearer` token (see WWW-Authenticate)"),
  404: oipError("Unknown model or version"),
  405: oipError("Wrong method; see the Allow header"),
  413: oipError("Body over MAX_BODY_BYTES (after gzip inflation too) or more images than MAX_BATCH"),
  415: oipError("A Content-Encoding other than gzip or identity"),
  429: oipError("Rate limited (when the RATE_LIMITER binding is set); see Retry-After"),
  503: oipError("The model's weights are broken (digest check, header or decode); only a redeploy fixes it"),
};

/**
 * The body of an inference request is JSON whatever its Content-Type says,
 * or without one: `curl -d` sends application/x-www-form-urlencoded, a
 * browser's fetch of a string text/plain, and many clients none.
 */
async function alwaysJson(c: Context, next: () => Promise<void>): Promise<void> {
  if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    // The body may have been read already (gzip, body limit): Hono's cache has it.
    const body = await c.req.arrayBuffer();
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body });
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
  modelGet(path, params, "Model readiness (a probe checks the weights' digest and decodes the model, warming it)", {
    200: json(OipReady, "Ready"),
    404: oipError("Unknown model or version"),
    503: oipError("Not ready: the weights are broken (the answer also says ready: false)"),
  });

const metadataRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  modelGet(path, params, "Model metadata (from the weights' header; nothing is decoded)", {
    200: json(OipModelMetadata, "Model metadata"),
    404: oipError("Unknown model or version"),
    503: oipError("The weights are broken (digest check or header)"),
  });

const inferRoute = <P extends string, Q extends typeof Model | typeof ModelVersion>(path: P, params: Q) =>
  createRoute({
    method: "post",
    path,
    tags,
    summary: "Inference request (Open Inference Protocol)",
    middleware: [withModel, alwaysJson] as const,
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
      summary: "Server readiness: every model's weights are intact (digest checked, header read; nothing decoded)",
      responses: { 200: json(OipReady, "Ready"), 503: oipError("Not ready: a model's weights are broken (the answer also says ready: false)") },
    }),
    async (c) => {
      const registry = c.var.registry;
      await registry.cards(); // checks each digest and reads each header once; broken ones are recorded
      const failures = registry.failures();
      if (failures.length) notReady(`not ready: ${failures.map((f) => `model "${f.name}": ${f.error}`).join("; ")}`);
      return c.json({ ready: true }, 200);
    },
  )
  .openapi(readyRoute("/v2/models/{model}/ready", Model), async (c) => c.json(await modelReady(c, c.req.valid("param").model), 200))
  .openapi(readyRoute("/v2/models/{model}/versions/{version}/ready", ModelVersion), async (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(await modelReady(c, p.model, p.version), 200);
  })
  .openapi(metadataRoute("/v2/models/{model}", Model), async (c) => c.json(await modelMetadata(c, c.req.valid("param").model), 200))
  .openapi(metadataRoute("/v2/models/{model}/versions/{version}", ModelVersion), async (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(await modelMetadata(c, p.model, p.version), 200);
  })
  .openapi(inferRoute("/v2/models/{model}/infer", Model), (c) => c.json(runInfer(c, c.req.valid("json")), 200))
  .openapi(inferRoute("/v2/models/{model}/versions/{version}/infer", ModelVersion), (c) => c.json(runInfer(c, c.req.valid("json")), 200));
