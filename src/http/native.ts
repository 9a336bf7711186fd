// The native JSON API: health, model cards and predictions.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { argmax } from "../nn/functions";
import { isJsonType } from "./body";
import type { AppEnv } from "./env";
import { cacheFor, entityTag } from "./headers";
import { infer, requireModel, toPrediction } from "./inference";
import { type Read, readBinary, readJson, readPictures } from "./input";
import { scanPredictJson } from "./json-scan";
import { runsModel } from "./policy";
import { errorHandler, problemResponse } from "./problem";
import { describedRoute, routeGroup, type Schemas, schemas } from "./described";
import { jsonBody } from "./validation";
import { DEFAULT_MODEL } from "../model/catalog";

/** Cards say whether their model is decoded yet, so a cache keeps them for a minute. */
const CARD_SECONDS = 60;

const health = describedRoute({ method: "get", path: "/healthz" }, (s) => ({
  summary: "Liveness",
  responses: { 200: { description: "The service is up", content: { "application/json": { schema: s.Health() } } } },
}));

const listModels = describedRoute({ method: "get", path: "/v1/models", middleware: [entityTag(), cacheFor(CARD_SECONDS)] }, (s) => ({
  summary: "List the bundled models",
  responses: { 200: { description: "Model cards; listing decodes no weights", content: { "application/json": { schema: s.ModelList() } } } },
}));

const getCard = describedRoute(
  { method: "get", path: "/v1/models/{model}", middleware: [entityTag(), cacheFor(CARD_SECONDS)], params: (s) => s.ModelParam() },
  (s) => ({
    summary: "One model's card",
    request: { params: s.ModelParam() },
    responses: {
      200: { description: "The model card", content: { "application/json": { schema: s.ModelCardSchema() } } },
      404: s.problem("Unknown model"),
    },
  }),
);

const predictContent = (s: Schemas) => ({
  "application/json": { schema: s.PredictBody() },
  "application/octet-stream": { schema: s.BinaryBody() },
  // Pictures, read by the handler (src/http/input.ts readPictures): documented
  // and accepted, but kept out of the route's types: the typed client derives
  // one body type from every entry, and a form entry would turn its JSON body
  // into a form.
  ...({
    "image/png": { schema: s.ImageBody() },
    "image/jpeg": { schema: s.ImageBody() },
    "multipart/form-data": { schema: s.MultipartImages },
  } as Record<never, never>),
});

/** Every Content-Type predict takes, as predictContent documents them; a raw pixel body may be gzip without saying so. */
// A body without a Content-Type is raw pixels, as application/octet-stream.
const predictBody = {
  accepts: ["application/json", "application/octet-stream", "image/png", "image/jpeg", "multipart/form-data"],
  sniffGzip: ["application/octet-stream"],
  untyped: "application/octet-stream",
};

const predictRequest = (s: Schemas) => ({
  query: s.PredictQuery(),
  body: {
    required: true,
    description:
      "JSON images; N×784 uint8 pixels or a whole IDX3 file as application/octet-stream (optionally Content-Encoding: gzip); one PNG or JPEG picture of any size; or several as multipart/form-data",
    content: predictContent(s),
  },
});

const predictResponses = (s: Schemas) => ({
  200: { description: "Predictions", content: { "application/json": { schema: s.PredictResponse() } } },
  400: s.problem("Malformed JSON, wrong lengths, non-numbers or out-of-range values (`pointer` names the first bad element); a corrupt or truncated picture"),
  401: s.problem("API_TOKEN is set and the request has no valid `Authorization: Bearer` token (see WWW-Authenticate)"),
  404: s.problem("Unknown model; the answer lists the models"),
  405: s.problem("Wrong method; see the Allow header"),
  413: s.problem("Body larger than MAX_BODY_BYTES (after gzip inflation too), more images than MAX_BATCH, or a picture over MAX_IMAGE_PIXELS"),
  415: s.problem("A Content-Type, or a multipart part's type, that is not one of the request bodies above, or a Content-Encoding other than gzip or identity"),
  422: s.problem("A blank picture (no ink to read), or preprocess=none with a picture that is not 28×28"),
  429: s.problem("Rate limited (when the RATE_LIMITER binding is set); see Retry-After"),
  503: s.problem("The model's weights are broken (digest check, header or decode); only a redeploy fixes it"),
});

const predictModel = describedRoute(
  { method: "post", path: "/v1/models/{model}/predict", middleware: runsModel(predictBody), query: (s) => s.PredictQuery(), params: (s) => s.ModelParam() },
  (s) => ({
    summary: "Classify one image or a batch with a given model",
    request: { params: s.ModelParam(), ...predictRequest(s) },
    responses: predictResponses(s),
  }),
);

const predictDefault = describedRoute({ method: "post", path: "/v1/predict", middleware: runsModel(predictBody), query: (s) => s.PredictQuery() }, (s) => ({
  summary: `Classify with the default model (${DEFAULT_MODEL})`,
  request: predictRequest(s),
  responses: predictResponses(s),
}));

type PredictOptions = z.infer<ReturnType<Schemas["PredictQuery"]>>;

/** A body's kind, by its media type (readBody has checked it is one predict takes). */
function bodyKind(type: string): "json" | "binary" | "pictures" {
  if (isJsonType(type)) return "json";
  return type === "image/png" || type === "image/jpeg" || type === "multipart/form-data" ? "pictures" : "binary";
}

/** The predict handler: the body read by its kind, then answered the one way every kind is. */
async function predict(c: Context<AppEnv>, query: PredictOptions) {
  const { model, limits, body } = c.var;
  const kind = bodyKind(body.type);
  const read =
    kind === "json"
      ? (scanPredictJson(body.bytes, model, limits) ??
        readJson(jsonBody(c, (await schemas()).PredictBody(), 'send a JSON object such as {"input": [...784 numbers]}'), model, limits))
      : kind === "binary"
        ? readBinary(body, model, limits)
        : await readPictures(body, c.req.header("content-type") ?? "", model, limits, { preprocess: query.preprocess ?? "mnist", debug: query.debug === "1" });
  return answer(c, read, query);
}

/**
 * Predictions for a body read: options in the body win, the query string's
 * apply to every body. One image answers one prediction; a batch a list, or
 * for raw pixels with output=label the labels alone.
 */
function answer(c: Context<AppEnv>, read: Read, query: PredictOptions) {
  const { model, modelName } = c.var;
  const output = read.options.output ?? query.output ?? "probabilities";
  const C = model.labels.length;
  const topK = Math.min(read.options.top_k ?? query.top_k ?? 3, C);
  const y = infer(c, model, read.batch, output);
  const prediction = (n: number) => ({ ...toPrediction(model, y.subarray(n * C, n * C + C), output, topK), ...read.extra?.(n) });
  if (read.single) return { model: modelName, ...prediction(0) };
  if (read.labelsOnly && output === "label") return { model: modelName, labels: Array.from(argmax(y, C)) };
  return { model: modelName, predictions: Array.from({ length: read.batch.N }, (_, n) => prediction(n)) };
}

const app = routeGroup<AppEnv>();
app.onError(errorHandler(problemResponse));

export const native = app
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
  .openapi(predictModel, async (c) => c.json(await predict(c, c.req.valid("query")), 200))
  .openapi(predictDefault, async (c) => c.json(await predict(c, c.req.valid("query")), 200));
