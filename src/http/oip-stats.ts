// Two Open Inference Protocol extensions as Triton specifies them (its
// server's docs/protocol): statistics (extension_statistics.md) and the
// model repository index (extension_model_repository.md).
//
// Statistics are kept per isolate: a Worker runs in many isolates, each with
// its own counts since it started, and an answer tells only of the isolate
// that served it. Durations come from the runtime's clock, which on Workers
// advances only across I/O: the compute phases, pure computation, mostly
// read 0 ns there, while the counts are exact.
import type { ModelCard } from "../model/registry";

/** A count and a total duration, as Triton reports each statistic. */
export interface DurationStat {
  count: number;
  ns: number;
}

export const INFERENCE_PHASES = ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit"] as const;
export type InferencePhase = (typeof INFERENCE_PHASES)[number];

/** The phases of one model execution. */
const COMPUTE_PHASES = ["compute_input", "compute_infer", "compute_output"] as const;
export type ComputePhase = (typeof COMPUTE_PHASES)[number];

export interface BatchStat extends Record<ComputePhase, DurationStat> {
  batch_size: number;
}

/** $model_stat of the statistics extension. */
export interface ModelStat {
  name: string;
  version: string;
  /** Milliseconds since the epoch; 0 before the first inference. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<InferencePhase, DurationStat>;
  batch_stats: BatchStat[];
}

/** Milliseconds spent in each compute phase of one execution. */
export type PhaseTimes = Record<ComputePhase, number>;

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));
const add = (s: DurationStat, ms: number) => {
  s.count++;
  s.ns += ns(ms);
};

function emptyStat(name: string, version: string): ModelStat {
  const inference_stats = Object.fromEntries(INFERENCE_PHASES.map((p) => [p, zero()])) as Record<InferencePhase, DurationStat>;
  return { name, version, last_inference: 0, inference_count: 0, execution_count: 0, inference_stats, batch_stats: [] };
}

/**
 * Counts and times of inference requests, per model and version, since this
 * recorder was made. Requests never wait here (each runs as it arrives), so
 * queue counts every request at 0 ns; there is no response cache, so
 * cache_hit stays 0.
 * @example
 * const stats = new InferenceStatistics();
 * stats.success("mnist-mlp", "1", 64, { compute_input: 0.2, compute_infer: 1.5, compute_output: 0.1 });
 * stats.report(["mnist-mlp"], "1"); // { model_stats: [{ name: "mnist-mlp", inference_count: 64, ... }] }
 */
export class InferenceStatistics {
  private readonly models = new Map<string, { stat: ModelStat; batches: Map<number, BatchStat> }>();

  /** @param clock milliseconds since the epoch, for last_inference. @default Date.now */
  constructor(private readonly clock: () => number = Date.now) {}

  private entry(name: string, version: string) {
    const key = `${name}\u0000${version}`;
    let e = this.models.get(key);
    if (!e) {
      e = { stat: emptyStat(name, version), batches: new Map() };
      this.models.set(key, e);
    }
    return e;
  }

  /** A request of N images answered: one execution of the model. */
  success(name: string, version: string, N: number, times: PhaseTimes): void {
    const { stat, batches } = this.entry(name, version);
    const s = stat.inference_stats;
    add(s.success, times.compute_input + times.compute_infer + times.compute_output);
    add(s.queue, 0);
    let batch = batches.get(N);
    if (!batch) {
      batch = { batch_size: N, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      batches.set(N, batch);
    }
    for (const phase of COMPUTE_PHASES) {
      add(s[phase], times[phase]);
      add(batch[phase], times[phase]);
    }
    stat.inference_count += N;
    stat.execution_count++;
    stat.last_inference = this.clock();
  }

  /** A request that reached the model and failed (a bad tensor, say) after `ms`. */
  failure(name: string, version: string, ms: number): void {
    const { stat } = this.entry(name, version);
    add(stat.inference_stats.fail, ms);
    stat.last_inference = this.clock();
  }

  /**
   * $stats_model_response for the named models at `version`, in the order
   * given; a model never called reports zeros. Batch sizes in ascending order.
   */
  report(names: string[], version: string): { model_stats: ModelStat[] } {
    return {
      model_stats: names.map((name) => {
        const e = this.models.get(`${name}\u0000${version}`);
        if (!e) return emptyStat(name, version);
        const { stat, batches } = e;
        return structuredClone({ ...stat, batch_stats: [...batches.values()].sort((a, b) => a.batch_size - b.batch_size) });
      }),
    };
  }
}

// One recorder per registry: the Worker has one registry per isolate, and
// each test app its own, so no test sees another's counts.
const recorders = new WeakMap<object, InferenceStatistics>();

/** The statistics kept for the models of `registry`. */
export function statisticsOf(registry: object): InferenceStatistics {
  let r = recorders.get(registry);
  if (!r) {
    r = new InferenceStatistics();
    recorders.set(registry, r);
  }
  return r;
}

/** One entry of $repository_index_response. */
export interface RepositoryEntry {
  name: string;
  version: string;
  state: "READY" | "UNAVAILABLE";
  reason: string;
}

/**
 * The model repository index: every bundled model, READY when its weights
 * are intact, UNAVAILABLE with the reason when they are broken; with
 * `readyOnly` (the request's "ready": true), the READY ones alone.
 */
export function repositoryIndex(cards: Pick<ModelCard, "name" | "available" | "error">[], version: string, readyOnly: boolean): RepositoryEntry[] {
  return cards
    .map(
      (c): RepositoryEntry => ({ name: c.name, version, state: c.available ? "READY" : "UNAVAILABLE", reason: c.available ? "" : (c.error ?? "unavailable") }),
    )
    .filter((e) => !readyOnly || e.state === "READY");
}

/**
 * The body of an index request: empty, or {"ready": boolean}. Returns the
 * ready flag, or a string saying what is wrong with the body.
 */
export function indexRequest(text: string): { ready: boolean } | string {
  if (text.trim() === "") return { ready: false };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the body is not JSON; send {"ready": true} for the ready models alone, or {} (or nothing) for every model';
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return 'the body must be a JSON object such as {"ready": true}';
  const ready = (body as { ready?: unknown }).ready;
  if (ready !== undefined && ready !== null && typeof ready !== "boolean") return '"ready" must be true or false';
  return { ready: ready === true };
}
