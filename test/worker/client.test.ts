// The typed client: its types come from the app, and it talks to the real app.
import { describe, expect, expectTypeOf, it } from "vitest";
import { createClient } from "../../src/client";
import { freshApp } from "./helpers";

describe("typed client (hono/client)", () => {
  const { app } = freshApp();
  const api = createClient("http://localhost", { fetch: (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init) });

  it("should predict with typed request and answer", async () => {
    const res = await api.v1.predict.$post({ json: { input: new Array(784).fill(0), top_k: 2 }, query: {} });
    if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
    const body = await res.json();
    expectTypeOf(body.model).toEqualTypeOf<string>();
    expectTypeOf(body.label).toEqualTypeOf<number | undefined>();
    expect(body.top).toHaveLength(2);
  });

  it("should list models with typed cards", async () => {
    const res = await api.v1.models.$get();
    const body = await res.json();
    expectTypeOf(body.models[0].test_accuracy).toEqualTypeOf<number | null>();
    expect(body.models.length).toBeGreaterThan(0);
  });

  it("should type the Open Inference Protocol routes", async () => {
    const res = await api.v2.models[":model"].infer.$post({
      param: { model: "mnist-book" },
      json: { inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: new Array(784).fill(0) }] },
    });
    if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
    const body = await res.json();
    expectTypeOf(body.model_name).toEqualTypeOf<string>();
    expect(body.outputs.map((o) => o.name)).toEqual(["probabilities", "label", "logits"]);
  });
});
