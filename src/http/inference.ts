// Running a batch through a model and shaping the answer, shared by the
// native API and the Open Inference Protocol routes.
import type { Context } from "hono";
import { endTime, setMetric, startTime } from "hono/timing";
import type { ModelFile } from "../model/format";
import { forward, type OutputKind } from "../nn/network";
import { argmax } from "../nn/functions";
import type { AppEnv } from "./env";
import { ProblemError } from "./problem";

/** The decoded model, or a 404 that lists the models (503 when it fails to decode). */
export function getModel(c: Context<AppEnv>, name: string): ModelFile {
  const registry = c.var.registry;
  if (!registry.has(name)) {
    const models = registry.names();
    throw new ProblemError(404, { detail: `unknown model "${name}"; available: ${models.join(", ")}`, models });
  }
  return registry.get(name, (ms) => setMetric(c, "decode", ms, "decode weights"));
}

export function infer(c: Context<AppEnv>, model: ModelFile, x: Float32Array, N: number, output: OutputKind): Float32Array {
  startTime(c, "infer", "forward pass");
  const y = forward(model.network, x, N, output);
  endTime(c, "infer");
  return y;
}

export interface TopEntry {
  label: number;
  name: string;
  probability: number;
}

export interface Prediction {
  label: number;
  name: string;
  probability?: number;
  top?: TopEntry[];
  probabilities?: number[];
  logits?: number[];
}

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
