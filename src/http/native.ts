// The native JSON API: health, model cards and predictions.
import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import { infer, requireModel, toPrediction, withModel } from "./inference";
import { binaryBody, binaryImages, bodyKind, type ImageFile, imageImages, type JsonImage, jsonImages, multipartFiles } from "./input";
import { badRequest, ProblemError } from "./problem";
import {
  BinaryBody,
  Health,
  ImageBody,
  ModelCardSchema,
  ModelList,
  ModelParam,
  MultipartImages,
  PredictBody,
  PredictQuery,
  PredictResponse,
  problem,
} from "./schemas";
import { validationHook } from "./validation";

const health = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  responses: { 200: { description: "The service is up", content: { "application/json": { schema: Health } } } },
});

const listModels = createRoute({
  method: "get",
  path: "/v1/models",
  summary: "List the bundled models",
  responses: { 200: { description: "Model cards; listing decodes no weights", content: { "application/json": { schema: ModelList } } } },
});

const getCard = createRoute({
  method: "get",
  path: "/v1/models/{model}",
  summary: "One model's card",
  request: { params: ModelParam },
  responses: {
    200: { description: "The model card", content: { "application/json": { schema: ModelCardSchema } } },
    404: problem("Unknown model"),
  },
});

/** Picture bodies: read by the handler, not by a validator. */
const pictures = {
  "image/png": { schema: ImageBody },
  "image/jpeg": { schema: ImageBody },
  "multipart/form-data": { schema: MultipartImages },
};

const predictRequest = {
  query: PredictQuery,
  body: {
    required: false,
    description:
      "JSON images; N×784 uint8 pixels or a whole IDX3 file as application/octet-stream (optionally Content-Encoding: gzip); one PNG or JPEG picture of any size; or several as multipart/form-data",
    content: {
      "application/json": { schema: PredictBody },
      "application/octet-stream": { schema: BinaryBody },
      // Documented and accepted, but kept out of the route's types: the typed
      // client derives one body type from every entry, and a form entry would
      // turn its JSON body into a form.
      ...(pictures as Record<never, never>),
    },
  },
};

const predictResponses = {
  200: { description: "Predictions", content: { "application/json": { schema: PredictResponse } } },
  400: problem("Malformed JSON, wrong lengths, non-numbers or out-of-range values (`pointer` names the first bad element); a corrupt or truncated picture"),
  401: problem("API_TOKEN is set and the request has no valid `Authorization: Bearer` token (see WWW-Authenticate)"),
  404: problem("Unknown model; the answer lists the models"),
  405: problem("Wrong method; see the Allow header"),
  413: problem("Body larger than MAX_BODY_BYTES (after gzip inflation too), more images than MAX_BATCH, or a picture over MAX_IMAGE_PIXELS"),
  415: problem("A Content-Type, or a multipart part's type, that is not one of the request bodies above, or a Content-Encoding other than gzip or identity"),
  422: problem("A blank picture (no ink to read), or preprocess=none with a picture that is not 28×28"),
  429: problem("Rate limited (when the RATE_LIMITER binding is set); see Retry-After"),
  503: problem("The model's weights are broken (digest check, header or decode); only a redeploy fixes it"),
};

const predictModel = createRoute({
  method: "post",
  path: "/v1/models/{model}/predict",
  summary: "Classify one image or a batch with a given model",
  middleware: [withModel] as const,
  request: { params: ModelParam, ...predictRequest },
  responses: predictResponses,
});

const predictDefault = createRoute({
  method: "post",
  path: "/v1/predict",
  summary: "Classify with the default model (mnist-mlp)",
  middleware: [withModel] as const,
  request: predictRequest,
  responses: predictResponses,
});

type PredictJson = z.infer<typeof PredictBody>;
type PredictOptions = z.infer<typeof PredictQuery>;

/** The native predict handler: a JSON or binary body in, predictions out. */
async function answerPredict(c: Context<AppEnv>, validated: PredictJson | string | undefined, query: PredictOptions) {
  const model = c.var.model;
  const name = c.req.param("model") ?? c.var.registry.defaultModel;
  const kind = bodyKind(c.req.header("content-type"));
  if (kind === "image" || kind === "multipart") return answerImages(c, kind, name, query);
  // The validator hands an empty object for non-JSON bodies: the body kind decides.
  const json = kind === "json" && typeof validated === "object" ? validated : undefined;
  if (json && (json.input === undefined) === (json.inputs === undefined)) badRequest('send exactly one of "input" (one image) or "inputs" (a batch)', "");
  const single = json?.input !== undefined;
  const batch = json
    ? jsonImages(single ? [json.input as JsonImage] : (json.inputs as JsonImage[]), json.scale ?? 1, model, c.var.limits, single ? "/input" : "/inputs", single)
    : binaryImages(await binaryBody(new Uint8Array(await c.req.arrayBuffer()), c.var.inflated === true, c.var.limits, model.sizes[0]), model, c.var.limits);
  // Options in the body win; the query string's apply to every body.
  const output = json?.output ?? query.output ?? "probabilities";
  const C = model.labels.length;
  const topK = Math.min(json?.top_k ?? query.top_k ?? 3, C);
  const { N } = batch;
  const y = infer(c, model, batch, output);
  if (single) return { model: name, ...toPrediction(model, y, output, topK) };
  if (!json && output === "label") return { model: name, labels: Array.from(argmax(y, C)) };
  return { model: name, predictions: Array.from({ length: N }, (_, n) => toPrediction(model, y.subarray(n * C, n * C + C), output, topK)) };
}

async function formData(c: Context<AppEnv>): Promise<FormData> {
  try {
    return await c.req.formData();
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    badRequest(`the multipart body is malformed (${(e as Error)?.message ?? e}); send multipart/form-data, with its boundary, holding one file part per image`);
  }
}

/**
 * Pictures in: one PNG or JPEG body answers with one prediction; a
 * multipart body with one per file, in order. ?debug=1 adds what the network
 * saw, as 28 rows of 28 bytes.
 */
async function answerImages(c: Context<AppEnv>, kind: "image" | "multipart", name: string, query: PredictOptions) {
  const model = c.var.model;
  const files: ImageFile[] =
    kind === "image"
      ? [{ bytes: new Uint8Array(await c.req.arrayBuffer()), type: c.req.header("content-type") ?? "" }]
      : await multipartFiles(await formData(c));
  const batch = imageImages(files, model, c.var.limits, query.preprocess ?? "mnist");
  const { N, pixels, inverted } = batch;
  const output = query.output ?? "probabilities";
  const C = model.labels.length;
  const topK = Math.min(query.top_k ?? 3, C);
  const y = infer(c, model, batch, output);
  const side = model.inputShape[0];
  const D = side * side;
  const debug = (n: number) =>
    query.debug === "1"
      ? { input: Array.from({ length: side }, (_, r) => Array.from(pixels.subarray(n * D + r * side, n * D + r * side + side))), inverted: inverted[n] }
      : {};
  const predictionOf = (n: number) => ({ ...toPrediction(model, y.subarray(n * C, n * C + C), output, topK), ...debug(n) });
  if (kind === "image") return { model: name, ...predictionOf(0) };
  return { model: name, predictions: Array.from({ length: N }, (_, n) => predictionOf(n)) };
}

export const native = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(health, (c) => c.json({ status: "ok" }, 200))
  .openapi(listModels, async (c) => {
    const r = c.var.registry;
    return c.json({ default: r.defaultModel, models: await r.cards() }, 200);
  })
  .openapi(getCard, async (c) => {
    const { model } = c.req.valid("param");
    requireModel(c, model);
    return c.json(await c.var.registry.card(model), 200);
  })
  .openapi(predictModel, async (c) => c.json(await answerPredict(c, c.req.valid("json"), c.req.valid("query")), 200))
  .openapi(predictDefault, async (c) => c.json(await answerPredict(c, c.req.valid("json"), c.req.valid("query")), 200));
