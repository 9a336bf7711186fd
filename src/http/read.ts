// Whole numbers: POST /v1/read and /v1/models/{model}/read. A picture (or a
// multipart body of them) of digits written in a row is decoded (EXIF
// Orientation applied), cut into its digits (src/image/segment.ts) and
// every digit of the request is read in one forward pass.
// N = digits in the request, C = classes (10).
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { MAX_DIGITS } from "../config";
import type { Digit } from "../image/segment";
import { DEFAULT_MODEL, datasetOf } from "../model/catalog";
import type { ModelSpec } from "../model/format";
import { describedRoute, routeGroup, type Schemas } from "./described";
import type { AppEnv } from "./env";
import { infer, toPrediction } from "./inference";
import { imageShape, pictureError, pictureFiles, pictureHeaders } from "./input";
import { runsModel } from "./policy";
import { errorHandler, ProblemError, problemResponse } from "./problem";

/** The bodies read takes: pictures only. */
const pictures = ["image/png", "image/jpeg", "multipart/form-data"];

const readRequest = (s: Schemas) => ({
  query: s.ReadQuery(),
  body: {
    required: true,
    description: "One PNG or JPEG of a number, or several as multipart/form-data",
    // Kept out of the route's types, as predict's pictures: the typed client
    // sends these with its readImage helper.
    content: {
      "image/png": { schema: s.NumberImageBody() },
      "image/jpeg": { schema: s.NumberImageBody() },
      "multipart/form-data": { schema: s.MultipartNumbers },
    } as Record<never, never>,
  },
});

const readResponses = (s: Schemas) => ({
  200: { description: "The number read, digit by digit, left to right", content: { "application/json": { schema: s.ReadResponse() } } },
  400: s.problem("A corrupt or truncated picture, or a malformed multipart body"),
  401: s.problem("API_TOKEN is set and the request has no valid `Authorization: Bearer` token (see WWW-Authenticate)"),
  404: s.problem("Unknown model; the answer lists the models"),
  405: s.problem("Wrong method; see the Allow header"),
  413: s.problem(
    `Body larger than MAX_BODY_BYTES, a picture over MAX_IMAGE_PIXELS, more pictures than MAX_BATCH, more than ${MAX_DIGITS} digits in one picture, or more digits in all than MAX_BATCH`,
  ),
  415: s.problem("A Content-Type, or a multipart part's type, other than image/png or image/jpeg"),
  422: s.problem("A blank picture (no ink to read), or a model that does not read digits (its dataset is not mnist, or its input is not a square picture)"),
  429: s.problem("Rate limited (when the RATE_LIMITER binding is set); see Retry-After"),
  503: s.problem("The model's weights are broken (digest check, header or decode); only a redeploy fixes it"),
});

const readBody = { accepts: pictures };

const readModel = describedRoute(
  { method: "post", path: "/v1/models/{model}/read", middleware: runsModel(readBody), query: (s) => s.ReadQuery(), params: (s) => s.ModelParam() },
  (s) => ({
    summary: "Read a number (one or more digits in a row) in a picture with a given model",
    request: { params: s.ModelParam(), ...readRequest(s) },
    responses: readResponses(s),
  }),
);

const readDefault = describedRoute({ method: "post", path: "/v1/read", middleware: runsModel(readBody), query: (s) => s.ReadQuery() }, (s) => ({
  summary: `Read a number (one or more digits in a row) in a picture with the default model (${DEFAULT_MODEL})`,
  request: readRequest(s),
  responses: readResponses(s),
}));

type Reading = z.infer<ReturnType<Schemas["ReadingSchema"]>>;

/** A 422 unless the model reads digits from a square picture (a digits model of this project). */
async function requireDigitsModel(c: Context<AppEnv>, model: ModelSpec): Promise<void> {
  const [side, cols] = imageShape(model);
  if (datasetOf(model) === "mnist" && side === cols && side * cols === model.sizes[0]) return;
  const registry = c.var.registry;
  const digits: string[] = [];
  for (const name of registry.names()) {
    const spec = await registry.spec(name).catch(() => undefined);
    if (spec && datasetOf(spec) === "mnist") digits.push(name);
  }
  throw new ProblemError(422, {
    detail: `model "${c.var.modelName}" does not read digits (its dataset is ${model.metadata.dataset ?? "not named"}, its input ${model.inputShape.join("×")}); read numbers with a digits model: ${digits.join(", ")}`,
  });
}

/**
 * The read handler: every picture decoded and cut into digits, all of them
 * through the network at once, and each picture's digits put back in order.
 */
async function read(c: Context<AppEnv>, query: z.infer<ReturnType<Schemas["ReadQuery"]>>) {
  const { model, modelName, limits, body } = c.var;
  await requireDigitsModel(c, model);
  const files = await pictureFiles(body, c.req.header("content-type") ?? "");
  const headers = pictureHeaders(files, limits);
  // The decoders and the digit finder are loaded on the first picture's
  // decode (src/image/decode.ts): start-up compiles none of them.
  const [{ decodeImage }, { recipeFor }, { segmentDigits }] = await Promise.all([
    import("../image/decode"),
    import("../image/preprocess"),
    import("../image/segment"),
  ]);
  const side = imageShape(model)[0];
  const D = side * side;
  const recipe = recipeFor(model.metadata.dataset, side);
  const found = files.map((f, n) => {
    try {
      const img = decodeImage(f.bytes, headers[n], limits.maxImagePixels);
      // The picture as shown: an orientation of 5-8 turns it a quarter.
      const { width, height, orientation } = headers[n];
      const shown = orientation >= 5 ? { width: height, height: width } : { width, height };
      return { ...shown, ...segmentDigits(img, recipe, img.scale) };
    } catch (e) {
      return pictureError(e, files, n);
    }
  });
  const N = found.reduce((sum, f) => sum + f.digits.length, 0);
  if (N > limits.maxBatch)
    throw new ProblemError(413, {
      detail: `the pictures hold ${N} digits in all; one request may hold ${limits.maxBatch} (MAX_BATCH). Send fewer pictures.`,
      limit: limits.maxBatch,
    });
  // x is (N, D) bytes: every digit of every picture, one forward pass.
  const pixels = new Uint8Array(N * D);
  let at = 0;
  for (const f of found) {
    pixels.set(f.pixels, at * D);
    at += f.digits.length;
  }
  const C = model.labels.length;
  const topK = Math.min(query.top_k ?? 3, C);
  const y = infer(c, model, { N, pixels, scale: model.inputScale }, "probabilities");
  let n = 0;
  const readings = found.map(({ width, height, digits }): Reading => {
    const read = digits.map((d: Digit) => {
      const p = toPrediction(model, y.subarray(n * C, n * C + C), "probabilities", topK);
      n++;
      return { label: p.label, probability: p.probability ?? 0, box: d.box, top: p.top ?? [] };
    });
    return { text: read.map((d) => model.labels[d.label]).join(""), width, height, digits: read };
  });
  return body.type === "multipart/form-data" ? { model: modelName, readings } : { model: modelName, ...readings[0] };
}

const app = routeGroup<AppEnv>();
app.onError(errorHandler(problemResponse));

export const reader = app
  .openapi(readModel, async (c) => c.json(await read(c, c.req.valid("query")), 200))
  .openapi(readDefault, async (c) => c.json(await read(c, c.req.valid("query")), 200));
