// Running a batch through a model and shaping the answer, shared by the
// native API and the Open Inference Protocol routes.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { endTime, setMetric, startTime } from "hono/timing";
import type { ModelFile } from "../model/format";
import { forward, type OutputKind } from "../nn/network";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import { ProblemError } from "./problem";
import type { Prediction as PredictionSchema } from "./schemas";

/** Throws the 404 that lists the models unless `name` is one of them. */
export function requireModel(c: Context<AppEnv>, name: string): void {
  const registry = c.var.registry;
  if (registry.has(name)) return;
  const models = registry.names();
  throw new ProblemError(404, { detail: `unknown model "${name}"; available: ${models.join(", ")}`, models });
}

/** The decoded model, or a 404 that lists the models (503 when it fails to decode). */
export function getModel(c: Context<AppEnv>, name: string): ModelFile {
  requireModel(c, name);
  return c.var.registry.get(name, (ms) => setMetric(c, "decode", ms, "decode weights"));
}

/** Route middleware: the Server-Timing "parse" span opens before the body is read and checked. */
export async function startParse(c: Context, next: () => Promise<void>): Promise<void> {
  startTime(c, "parse", "read and check input");
  await next();
}

export function infer(c: Context<AppEnv>, model: ModelFile, x: Float32Array, N: number, output: OutputKind): Float32Array {
  startTime(c, "infer", "forward pass");
  const y = forward(model.network, x, N, output);
  endTime(c, "infer");
  return y;
}

export type Prediction = z.infer<typeof PredictionSchema>;

/** One row of the output as the native API answers it. */
export function prediction(model: ModelFile, row: Float32Array, output: OutputKind, topK: number): Prediction {
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
