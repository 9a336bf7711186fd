// Running a batch through a model and shaping the answer, shared by the
// native API and the Open Inference Protocol routes.
import type { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { endTime, setMetric, startTime } from "hono/timing";
import type { Model } from "../model/format";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import type { Batch } from "./input";
import { excerpt, ProblemError } from "./problem";
import type { PredictionSchema } from "./schemas";

/**
 * What a prediction returns:
 * - `probabilities`: the network as trained (softmax applied);
 * - `logits`: the last affine output a3, before its activation;
 * - `label`: the arg-max alone, computed from the logits (the arg-max of
 *   softmax(a) is the arg-max of a, so softmax is skipped).
 */
export const OUTPUT_KINDS = ["probabilities", "logits", "label"] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** The most classes a prediction lists in `top` (top_k). */
export const TOP_K_MAX = 1000;

const SPANS = { verify: "check weights digest", decode: "decode weights" } as const;

/** The only model version: weights are versioned by redeploying. */
export const MODEL_VERSION = "1";

/** Throws the 404 that lists the models unless `name` is one of them. */
export function requireModel(c: Context<AppEnv>, name: string): void {
  const registry = c.var.registry;
  if (registry.has(name)) return;
  const models = registry.names();
  throw new ProblemError(404, { detail: `unknown model "${excerpt(name)}"; available: ${models.join(", ")}`, models });
}

/** A 404 unless `version` is absent or the one version. */
export function requireVersion(version: string | undefined): void {
  if (version !== undefined && version !== MODEL_VERSION)
    throw new ProblemError(404, { detail: `model version "${excerpt(version)}" not found; the only version is "${MODEL_VERSION}"` });
}

/**
 * Route middleware for inference: finds the model named by the path (or the
 * default; c.var.modelName), decodes it on first use (its own Server-Timing span, "decode"),
 * then opens the "parse" span, so reading and checking the body is timed
 * apart from decoding. 404 for an unknown model, 503 for broken weights.
 */
export const withModel: MiddlewareHandler<AppEnv> = async function withModel(c, next) {
  requireVersion(c.req.param("version"));
  const name = c.req.param("model") ?? c.var.registry.defaultModel;
  requireModel(c, name);
  c.set("modelName", name);
  c.set("model", await c.var.registry.model(name, (span, ms) => setMetric(c, span, ms, SPANS[span])));
  startTime(c, "parse", "read and check input");
  await next();
};

/** The forward pass, timed as "infer"; the batch is (N, D), the answer (N, C). */
export function infer(c: Context<AppEnv>, model: Model, batch: Batch, output: OutputKind): Float32Array {
  endTime(c, "parse");
  startTime(c, "infer", "forward pass");
  const opts = { softmax: output === "probabilities" };
  const y = "pixels" in batch ? model.network.forwardPixels(batch.pixels, batch.N, batch.scale, opts) : model.network.forward(batch.x, batch.N, opts);
  endTime(c, "infer");
  return y;
}

export type Prediction = z.infer<ReturnType<typeof PredictionSchema>>;

/** One row of the output as the native API answers it. */
export function toPrediction(model: Model, row: Float32Array, output: OutputKind, topK: number): Prediction {
  const label = argmax(row)[0];
  const name = model.labels[label];
  if (output === "label") return { label, name };
  if (output === "logits") return { label, name, logits: Array.from(row) };
  const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
  return {
    label,
    name,
    probability: row[label],
    top: order.slice(0, topK).map((i) => ({ label: i, name: model.labels[i], probability: row[i] })),
    probabilities: Array.from(row),
  };
}
