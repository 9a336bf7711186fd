// The request and response schemas. The OpenAPI document is generated from
// them, and the routes check requests with them: query and path parameters
// through validatedQuery(), JSON bodies through jsonBody (src/http/validation.ts).
// Each schema is a function that builds it on first call and then returns
// the same one (once): building zod schemas and their OpenAPI metadata was
// a third of the Worker's start-up, and most routes, the document and the
// full JSON reader need none of them until they are used. This module, and
// zod and its OpenAPI extension with it, is itself loaded on first use: only
// by a dynamic import (src/http/described.ts schemas), never a static one
// outside tests, so that evaluating them is no part of start-up either.
// Where a schema only checks that a value is an array (Image, OIP `data`),
// the handler checks each element and the OpenAPI text below is written by
// hand; src/http/document.ts adds what the schemas cannot say. Answers are
// held to the document by the worker tests (test/worker/conformance.ts).
import { z } from "@hono/zod-openapi";
import type { ModelCard } from "../model/registry";
import { OUTPUT_KINDS, TOP_K_MAX } from "./inference";
import { once } from "./once";

export { once };

// An image is checked element by element by the handler (src/http/input.ts),
// which names the first bad pixel with a JSON pointer. The schema checks only
// that it is an array: zod visits every element of an array schema, which
// costs several times the JSON.parse of a large batch. The documented
// element type is spelled out for OpenAPI.
const Image = once(() =>
  z
    .custom<(number | number[])[]>((v) => Array.isArray(v), { message: "expected an array of pixels" })
    .openapi("Image", {
      type: "array",
      description: "784 numbers in [0, scale], row-major, or 28 rows of 28 numbers. 0 is background.",
      items: {
        anyOf: [
          { type: "number", minimum: 0 },
          { type: "array", items: { type: "number", minimum: 0 } },
        ],
      },
    }),
);

const OutputKindSchema = once(() =>
  z.enum(OUTPUT_KINDS).openapi({ description: "probabilities (softmax); logits (last affine output); label (arg-max only, softmax skipped)" }),
);

const predictOptions = () => ({
  scale: z.number().positive().optional().openapi({ description: "Values are in [0, scale]: 1 (default) for intensities, 255 for raw bytes", example: 1 }),
  top_k: z.number().int().min(0).max(TOP_K_MAX).optional().openapi({ description: "How many best classes to list in `top` (default 3)", example: 3 }),
  output: OutputKindSchema().optional(),
});

export const PredictBody = once(() =>
  z
    .object({
      input: Image().optional(),
      inputs: z.array(Image()).optional().openapi({ description: "A batch of images" }),
      ...predictOptions(),
    })
    .strict()
    .openapi("PredictRequest", {
      description: 'Exactly one of "input" (one image) or "inputs" (a batch).',
      example: { input: new Array(784).fill(0), top_k: 3 },
    }),
);

// Query options apply to every body; for a JSON body, the body's own fields win.
export const PredictQuery = once(() =>
  z.object({
    top_k: z.coerce.number().int().min(0).max(TOP_K_MAX).optional().openapi({ description: "How many best classes to list (a JSON body's top_k wins)" }),
    output: OutputKindSchema().optional().openapi({ description: "probabilities, logits or label (a JSON body's output wins)" }),
    preprocess: z.enum(["mnist", "none"]).optional().openapi({
      description:
        "For PNG and JPEG bodies: mnist (default) fits any picture by MNIST's recipe (ink's box into 20×20, centre of mass at the centre of 28×28); none takes an exactly 28×28 picture as it is, only made grey and ink-high",
    }),
    debug: z
      .enum(["0", "1"])
      .optional()
      .openapi({ description: "For PNG and JPEG bodies: 1 adds `input`, the 28 rows of 28 bytes the network saw, and `inverted`" }),
  }),
);

const TopEntry = once(() => z.object({ label: z.number().int(), name: z.string(), probability: z.number() }));

export const PredictionSchema = once(() =>
  z
    .object({
      label: z.number().int().openapi({ description: "Index of the most likely class" }),
      name: z.string().openapi({ description: "Its class name" }),
      probability: z.number().optional(),
      top: z.array(TopEntry()).optional(),
      probabilities: z.array(z.number()).optional(),
      logits: z.array(z.number()).optional(),
      input: z.array(z.array(z.number().int())).optional().openapi({
        description:
          "With ?debug=1, for a PNG or JPEG: the 28 rows of 28 bytes the network saw (0 = background, 255 = ink); send it back as JSON with scale 255",
      }),
      inverted: z.boolean().optional().openapi({ description: "With ?debug=1: true when the picture was dark ink on a light ground" }),
    })
    .openapi("Prediction"),
);

export const PredictResponse = once(() =>
  PredictionSchema()
    .partial()
    .extend({
      model: z.string(),
      predictions: z.array(PredictionSchema()).optional().openapi({ description: "For a batch" }),
      labels: z.array(z.number().int()).optional().openapi({ description: "Binary bodies with output=label: just the labels" }),
    })
    .openapi("PredictResponse"),
);

const ProblemSchema = once(() =>
  z
    .object({
      type: z.string(),
      title: z.string(),
      status: z.number().int(),
      detail: z.string(),
      error: z.string().openapi({ description: "The same text as detail, for Open Inference Protocol clients" }),
      instance: z.string().optional(),
      pointer: z.string().optional().openapi({ description: "JSON pointer to the first bad element, e.g. /inputs/3/17" }),
      request_id: z.string().optional(),
      kind: z
        .enum(["unsupported", "corrupt", "too-large", "blank", "wrong-size"])
        .optional()
        .openapi({ description: "For a picture that cannot be read: what is wrong with it" }),
    })
    .passthrough()
    .openapi("Problem"),
);

export const ModelCardSchema = once(
  () =>
    z
      .object({
        name: z.string(),
        default: z.boolean(),
        architecture: z.object({ layers: z.array(z.number().int()), activations: z.array(z.string()) }),
        parameters: z.number().int(),
        dtype: z.string(),
        bytes: z.number().int(),
        sha256: z.string(),
        labels: z.array(z.string()),
        input_shape: z.array(z.number().int()),
        input_scale: z.number(),
        test_accuracy: z.number().nullable(),
        decoded: z.boolean(),
        available: z
          .boolean()
          .openapi({ description: "False when the weights are broken (digest differs from the bundle's manifest, or they fail to decode); `error` says why" }),
        error: z.string().optional(),
        metadata: z.record(z.string(), z.string()),
      })
      .openapi("ModelCard") satisfies z.ZodType<ModelCard>,
);

// The card's type lives with the registry; the schema must describe exactly it.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const cardSchemaMatchesType: Same<z.infer<ReturnType<typeof ModelCardSchema>>, ModelCard> = true;
void cardSchemaMatchesType;

export const Health = once(() => z.object({ status: z.literal("ok") }).openapi("Health"));

export const ModelList = once(() => z.object({ default: z.string(), models: z.array(ModelCardSchema()) }).openapi("ModelList"));

export const ModelParam = once(() =>
  z.object({
    model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }),
  }),
);

/** A problem+json response entry for createRoute. */
export function problem(description: string) {
  return { description, content: { "application/problem+json": { schema: ProblemSchema() } } };
}

export const BinaryBody = once(() =>
  z.string().openapi({
    format: "binary",
    description: "N×784 uint8 pixels (0 = background, 255 = ink), or a whole IDX3 image file with its header (magic 2051); gzip with Content-Encoding: gzip",
  }),
);

export const ImageBody = once(() =>
  z.string().openapi({
    format: "binary",
    description:
      "One PNG or JPEG of a digit, any size up to MAX_IMAGE_PIXELS: grey, RGB or RGBA (transparent ground composited on white), dark ink on light or light on dark (detected). Fitted into MNIST's 28×28 unless ?preprocess=none.",
  }),
);

// A plain OpenAPI schema, not zod: a zod form schema would make the route
// validate the form and turn the typed client's JSON body into a form. The
// parts are read in order by the handler (src/http/input.ts).
const multipart = (description: string) => ({
  type: "object" as const,
  description,
  additionalProperties: { type: "string" as const, format: "binary" },
});

export const MultipartImages = multipart(
  "A batch: one file part per image (image/png or image/jpeg), any field names; the answer lists one prediction per file, in order.",
);

// Whole numbers: POST /v1/read (src/http/read.ts).
export const ReadQuery = once(() =>
  z.object({
    top_k: z.coerce.number().int().min(0).max(TOP_K_MAX).optional().openapi({ description: "How many best classes to list in each digit's `top` (default 3)" }),
  }),
);

export const NumberImageBody = once(() =>
  z.string().openapi({
    format: "binary",
    description:
      "One PNG or JPEG of one or more digits written in a row (a drawing, a scan or a phone photo), up to MAX_IMAGE_PIXELS; EXIF Orientation is applied first.",
  }),
);

export const MultipartNumbers = multipart(
  "Several pictures of numbers: one file part per picture (image/png or image/jpeg), any field names; the answer's `readings` are one per file, in order.",
);

const DigitSchema = once(() =>
  z
    .object({
      label: z.number().int().openapi({ description: "The digit read" }),
      probability: z.number().openapi({ description: "Its probability (softmax)" }),
      box: z
        .array(z.number().int())
        .length(4)
        .openapi({
          description:
            "[x, y, w, h] of the digit's ink in the picture's own pixels, as shown (after its EXIF Orientation), x to the right and y down from the top left",
          example: [112, 40, 58, 96],
        }),
      top: z.array(TopEntry()).openapi({ description: "The best top_k classes, most likely first" }),
    })
    .openapi("Digit"),
);

export const ReadingSchema = once(() =>
  z
    .object({
      text: z.string().openapi({ description: "The digits read, left to right", example: "2026" }),
      width: z.number().int().openapi({ description: "The picture's width as shown (after EXIF Orientation): the boxes' frame" }),
      height: z.number().int().openapi({ description: "The picture's height as shown" }),
      digits: z.array(DigitSchema()).openapi({ description: "One per digit, left to right" }),
    })
    .openapi("Reading"),
);

export const ReadResponse = once(() =>
  ReadingSchema()
    .partial()
    .extend({
      model: z.string(),
      readings: z.array(ReadingSchema()).optional().openapi({ description: "For a multipart body: one reading per file, in order" }),
    })
    .openapi("ReadResponse", {
      description: "One picture: its reading (text, width, height, digits) beside `model`; a multipart body: `readings`, one per file.",
      example: {
        model: "mnist-cnn",
        text: "17",
        width: 400,
        height: 200,
        digits: [
          {
            label: 1,
            probability: 0.98,
            box: [92, 30, 24, 140],
            top: [
              { label: 1, name: "1", probability: 0.98 },
              { label: 7, name: "7", probability: 0.01 },
            ],
          },
          {
            label: 7,
            probability: 0.95,
            box: [236, 36, 90, 134],
            top: [
              { label: 7, name: "7", probability: 0.95 },
              { label: 2, name: "2", probability: 0.02 },
            ],
          },
        ],
      },
    }),
);

// The Open Inference Protocol (KServe v2 REST) bodies.
const OipTensorMetadata = once(() => z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) }).openapi("OipTensorMetadata"));
export const OipServerMetadata = once(() =>
  z
    .object({
      name: z.string(),
      version: z.string(),
      extensions: z.array(z.string()).openapi({
        description:
          "The protocol extensions served: binary_tensor_data (both ways), statistics (per isolate) and model_repository (index and load; unload answers 400)",
        example: ["binary_tensor_data", "statistics", "model_repository"],
      }),
    })
    .openapi("OipServerMetadata"),
);
export const OipModelMetadata = once(() =>
  z
    .object({
      name: z.string(),
      versions: z.array(z.string()),
      platform: z.string(),
      inputs: z.array(OipTensorMetadata()),
      outputs: z.array(OipTensorMetadata()),
    })
    .openapi("OipModelMetadata"),
);
export const OipError = once(() =>
  z
    .object({
      error: z.string().openapi({ description: "What went wrong and what to do" }),
      pointer: z.string().optional().openapi({ description: "JSON pointer to the first bad element, e.g. /inputs/0/data/17" }),
      request_id: z.string().optional(),
    })
    .passthrough()
    .openapi("OipError"),
);
export const OipReady = once(() => z.object({ name: z.string().optional(), ready: z.boolean() }));
export const OipLive = once(() => z.object({ live: z.boolean() }));
// Optional fields may be sent as null (KServe's own request model serialises
// unset fields so): null is read as absent.
const Parameters = once(() => z.record(z.string(), z.unknown()).nullish());
const OipInferInput = once(() =>
  z.object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    datatype: z.string().openapi({
      example: "FP32",
      description:
        "FP16, FP32 or FP64: values in [0, 1]; UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32 or INT64: whole numbers 0-255 within the type's range",
    }),
    parameters: Parameters().openapi({
      description:
        "String, number or boolean values. binary_data_size: the input's length in bytes when its values follow the JSON header (binary tensor data extension; send Inference-Header-Content-Length)",
    }),
    // Checked value by value by tensorImages (src/http/input.ts), which points
    // at the first bad one (a zod array schema would visit every value again).
    // Absent when the values follow the JSON header (src/http/oip-binary.ts).
    data: z
      .custom<unknown[]>((v) => Array.isArray(v), { message: "expected an array of values" })
      .nullish()
      .openapi({
        type: "array",
        items: {},
        description: "Row-major values, flat, or nested exactly to the shape; absent when parameters.binary_data_size is set",
      }),
  }),
);
export const OipInferRequest = once(() =>
  z
    .object({
      id: z.string().nullish(),
      parameters: Parameters(),
      inputs: z.array(OipInferInput()).min(1),
      outputs: z
        .array(z.object({ name: z.string().openapi({ example: "label" }), parameters: Parameters() }))
        .nullish()
        .openapi({ description: "The outputs wanted, each once: probabilities, label, logits; all of them when absent or empty" }),
    })
    .openapi("OipInferRequest", {
      example: {
        id: "42",
        inputs: [{ name: "input", shape: [1, 784], datatype: "UINT8", data: new Array(784).fill(0) }],
        outputs: [{ name: "label" }, { name: "probabilities" }],
      },
    }),
);
const OipInferOutput = once(() => z.object({ name: z.string(), shape: z.array(z.number().int()), datatype: z.string(), data: z.array(z.number()) }));
/** The binary form of an inference request or answer: JSON of Inference-Header-Content-Length bytes, then the binary tensors. */
export const OipBinaryBody = once(() =>
  z.string().openapi({
    format: "binary",
    description:
      "Binary tensor data extension: the JSON request (or answer) of Inference-Header-Content-Length bytes, then the raw little-endian tensors of the inputs (outputs) that carry parameters.binary_data_size, in order",
  }),
);
const Duration = once(() => z.object({ count: z.number().int(), ns: z.number().int() }));
const computeStats = () => ({ compute_input: Duration(), compute_infer: Duration(), compute_output: Duration() });
export const OipModelStats = once(() =>
  z
    .object({
      model_stats: z.array(
        z.object({
          name: z.string(),
          version: z.string(),
          last_inference: z.number().int().openapi({ description: "Milliseconds since the epoch; 0 before the first inference" }),
          inference_count: z.number().int(),
          execution_count: z.number().int(),
          inference_stats: z.object({ success: Duration(), fail: Duration(), queue: Duration(), ...computeStats(), cache_hit: Duration() }),
          batch_stats: z.array(z.object({ batch_size: z.number().int(), ...computeStats() })),
        }),
      ),
    })
    .openapi("OipModelStats", {
      description:
        "Counts and times since this isolate started (each Worker isolate keeps its own). Durations are in ns; deployed Workers advance the clock only across I/O, so there they mostly read 0, while the counts are exact",
    }),
);
export const OipRepositoryIndex = once(() =>
  z.array(z.object({ name: z.string(), version: z.string(), state: z.enum(["READY", "UNAVAILABLE"]), reason: z.string() })).openapi("OipRepositoryIndex"),
);
export const OipInferResponse = once(() =>
  z
    .object({ model_name: z.string(), model_version: z.string().optional(), id: z.string().optional(), outputs: z.array(OipInferOutput()) })
    .openapi("OipInferResponse"),
);

/** An error answer of the Open Inference Protocol: `{"error": "..."}`. */
export function oipError(description: string) {
  return { description, content: { "application/json": { schema: OipError() } } };
}

/** The path parameters of an OIP model route, without and with its optional version. */
export const OipModelParam = once(() => z.object({ model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }) }));
export const OipModelVersionParam = once(() =>
  OipModelParam().extend({ version: z.string().openapi({ param: { name: "version", in: "path" }, example: "1" }) }),
);
