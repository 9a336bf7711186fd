// The native JSON API: health, model cards and predictions.
import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import { infer, requireModel, toPrediction, withModel } from "./inference";
import { binaryBody, binaryImages, bodyKind, type JsonImage, jsonImages } from "./input";
import { badRequest } from "./problem";
import { BinaryBody, Health, ModelCardSchema, ModelList, ModelParam, PredictBody, PredictQuery, PredictResponse, problem } from "./schemas";
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

const predictRequest = {
  query: PredictQuery,
  body: {
    required: false,
    description: "JSON images, or N×784 uint8 pixels / a whole IDX3 file as application/octet-stream (optionally Content-Encoding: gzip)",
    content: {
      "application/json": { schema: PredictBody },
      "application/octet-stream": { schema: BinaryBody },
    },
  },
};

const predictResponses = {
  200: { description: "Predictions", content: { "application/json": { schema: PredictResponse } } },
  400: problem("Malformed JSON, wrong lengths, non-numbers or out-of-range values; `pointer` names the first bad element"),
  404: problem("Unknown model; the answer lists the models"),
  405: problem("Wrong method; see the Allow header"),
  413: problem("Body larger than MAX_BODY_BYTES or more images than MAX_BATCH"),
  415: problem("Content-Type other than application/json or application/octet-stream"),
  503: problem("The model's weights failed to decode"),
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
  // The validator hands an empty object for non-JSON bodies: the body kind decides.
  const json = bodyKind(c.req.header("content-type")) === "json" && typeof validated === "object" ? validated : undefined;
  if (json && (json.input === undefined) === (json.inputs === undefined)) badRequest('send exactly one of "input" (one image) or "inputs" (a batch)', "");
  const single = json?.input !== undefined;
  const batch = json
    ? jsonImages(single ? [json.input as JsonImage] : (json.inputs as JsonImage[]), json.scale ?? 1, model, c.var.limits, single ? "/input" : "/inputs", single)
    : binaryImages(await binaryBody(new Uint8Array(await c.req.arrayBuffer()), c.var.inflated === true, c.var.limits), model, c.var.limits);
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
