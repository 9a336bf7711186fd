// The request and response schemas: the routes validate with them and the
// OpenAPI document is generated from them, so the two cannot drift apart.
import { z } from "@hono/zod-openapi";

// An image is checked element by element by the handler (src/http/input.ts),
// which names the first bad pixel with a JSON pointer. The schema checks only
// that it is an array: zod visits every element of an array schema, which
// costs 5-10x the JSON.parse of a large batch. The documented element type is spelled out for OpenAPI.
export const Image = z
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
  });

export const OutputKind = z
  .enum(["probabilities", "logits", "label"])
  .openapi({ description: "probabilities (softmax); logits (last affine output); label (arg-max only, softmax skipped)" });

export const PredictOptions = {
  scale: z.number().positive().optional().openapi({ description: "Values are in [0, scale]: 1 (default) for intensities, 255 for raw bytes", example: 1 }),
  top_k: z.number().int().min(0).max(1000).optional().openapi({ description: "How many best classes to list in `top` (default 3)", example: 3 }),
  output: OutputKind.optional(),
};

export const PredictBody = z
  .object({
    input: Image.optional(),
    inputs: z.array(Image).optional().openapi({ description: "A batch of images" }),
    ...PredictOptions,
  })
  .strict()
  .openapi("PredictRequest", {
    description: 'Exactly one of "input" (one image) or "inputs" (a batch).',
    example: { input: new Array(784).fill(0), top_k: 3 },
  });

export const PredictQuery = z.object({
  top_k: z.coerce.number().int().min(0).max(1000).optional().openapi({ description: "For binary bodies: how many best classes to list" }),
  output: OutputKind.optional().openapi({ description: "For binary bodies: probabilities, logits or label" }),
});

export const TopEntry = z.object({ label: z.number().int(), name: z.string(), probability: z.number() });

export const Prediction = z
  .object({
    label: z.number().int().openapi({ description: "Index of the most likely class" }),
    name: z.string().openapi({ description: "Its class name" }),
    probability: z.number().optional(),
    top: z.array(TopEntry).optional(),
    probabilities: z.array(z.number()).optional(),
    logits: z.array(z.number()).optional(),
  })
  .openapi("Prediction");

export const PredictResponse = Prediction.partial()
  .extend({
    model: z.string(),
    predictions: z.array(Prediction).optional().openapi({ description: "For a batch" }),
    labels: z.array(z.number().int()).optional().openapi({ description: "Binary bodies with output=label: just the labels" }),
  })
  .openapi("PredictResponse");

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error: z.string().openapi({ description: "The same text as detail, for Open Inference Protocol clients" }),
    instance: z.string().optional(),
    pointer: z.string().optional().openapi({ description: "JSON pointer to the first bad element, e.g. /inputs/3/17" }),
    request_id: z.string().optional(),
  })
  .passthrough()
  .openapi("Problem");

export const ModelCardSchema = z
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
    available: z.boolean().openapi({ description: "False when the weights fail to decode; `error` says why" }),
    error: z.string().optional(),
    metadata: z.record(z.string(), z.string()),
  })
  .openapi("ModelCard");

export const Health = z.object({ status: z.literal("ok") }).openapi("Health");

export const ModelList = z.object({ default: z.string(), models: z.array(ModelCardSchema) }).openapi("ModelList");

export const ModelParam = z.object({
  model: z.string().openapi({ param: { name: "model", in: "path" }, example: "mnist-mlp" }),
});

/** A problem+json response entry for createRoute. */
export function problem(description: string) {
  return { description, content: { "application/problem+json": { schema: ProblemSchema } } };
}

export const BinaryBody = z.string().openapi({
  format: "binary",
  description: "N×784 uint8 pixels (0 = background, 255 = ink), or a whole IDX3 image file with its header (magic 2051); gzip with Content-Encoding: gzip",
});
