import { describe, expect, it } from "vitest";
import { INFERENCE_PHASES, InferenceStatistics, indexRequest, repositoryIndex, statisticsOf } from "./oip-stats";

describe("InferenceStatistics", () => {
  it("should report zeros for a model never called, every phase present", () => {
    const { model_stats } = new InferenceStatistics(() => 5).report(["a"], "1");
    expect(model_stats).toHaveLength(1);
    const s = model_stats[0];
    expect(s).toMatchObject({ name: "a", version: "1", last_inference: 0, inference_count: 0, execution_count: 0, batch_stats: [] });
    expect(Object.keys(s.inference_stats).sort()).toEqual([...INFERENCE_PHASES].sort());
    for (const p of INFERENCE_PHASES) expect(s.inference_stats[p]).toEqual({ count: 0, ns: 0 });
  });

  it("should count images, executions, phases in ns and batch sizes", () => {
    let now = 1000;
    const stats = new InferenceStatistics(() => now);
    stats.success("a", "1", 64, { compute_input: 0.5, compute_infer: 2, compute_output: 0.25 });
    now = 2000;
    stats.success("a", "1", 1, { compute_input: 0.001, compute_infer: 0, compute_output: 0 });
    stats.success("a", "1", 64, { compute_input: 0, compute_infer: 1, compute_output: 0 });
    stats.failure("a", "1", 0.1);
    stats.success("b", "1", 3, { compute_input: 0, compute_infer: 0, compute_output: 0 });
    const [a, b] = stats.report(["a", "b"], "1").model_stats;
    expect(a.inference_count).toBe(129);
    expect(a.execution_count).toBe(3);
    expect(a.last_inference).toBe(2000);
    expect(a.inference_stats.success).toEqual({ count: 3, ns: 2_750_000 + 1_000 + 1_000_000 });
    expect(a.inference_stats.fail).toEqual({ count: 1, ns: 100_000 });
    expect(a.inference_stats.queue).toEqual({ count: 3, ns: 0 });
    expect(a.inference_stats.compute_infer).toEqual({ count: 3, ns: 3_000_000 });
    expect(a.inference_stats.cache_hit).toEqual({ count: 0, ns: 0 });
    expect(a.batch_stats.map((s) => [s.batch_size, s.compute_infer.count, s.compute_infer.ns])).toEqual([
      [1, 1, 0],
      [64, 2, 3_000_000],
    ]);
    expect(b.inference_count).toBe(3);
    // Versions are kept apart, and a report is a copy.
    expect(stats.report(["a"], "2").model_stats[0].inference_count).toBe(0);
    a.inference_count = 0;
    expect(stats.report(["a"], "1").model_stats[0].inference_count).toBe(129);
  });

  it("should keep one recorder per registry", () => {
    const r1 = {};
    const r2 = {};
    expect(statisticsOf(r1)).toBe(statisticsOf(r1));
    expect(statisticsOf(r1)).not.toBe(statisticsOf(r2));
  });
});

describe("repository index", () => {
  const cards = [
    { name: "a", available: true },
    { name: "b", available: false, error: "digest mismatch" },
  ];
  it("should list every model READY or UNAVAILABLE with the reason", () => {
    expect(repositoryIndex(cards, "1", false)).toEqual([
      { name: "a", version: "1", state: "READY", reason: "" },
      { name: "b", version: "1", state: "UNAVAILABLE", reason: "digest mismatch" },
    ]);
    expect(repositoryIndex(cards, "1", true).map((e) => e.name)).toEqual(["a"]);
  });

  it("should read an empty body, {} or {ready}, and refuse anything else", () => {
    expect(indexRequest("")).toEqual({ ready: false });
    expect(indexRequest("{}")).toEqual({ ready: false });
    expect(indexRequest('{"ready": true}')).toEqual({ ready: true });
    for (const bad of ["{", "[]", "1", '{"ready": "yes"}']) expect(typeof indexRequest(bad), bad).toBe("string");
  });
});
