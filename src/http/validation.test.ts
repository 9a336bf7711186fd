import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { unitApp } from "../../test/http";
import { readBody } from "./body";
import { jsonBody, validationHook } from "./validation";

const Body = z
  .object({
    input: z.array(z.number()).optional(),
    options: z
      .object({ top_k: z.number().int().optional(), output: z.enum(["a", "b"]).optional() })
      .strict()
      .optional(),
    scale: z.number().positive().optional(),
  })
  .strict();

const app = unitApp().post("/", readBody(), (c) => c.json(jsonBody(c, Body, 'send {"input": [...]}')));
const post = (body: string) => app.request("/", { method: "POST", headers: { "Content-Type": "application/json" }, body });
const problem = async (res: Response) => {
  expect(res.status).toBe(400);
  return (await res.json()) as { detail: string; pointer: string; issues: number };
};

describe("jsonBody", () => {
  it("should answer the parsed, checked body", async () => {
    expect(await (await post('{"input": [1, 2], "scale": 2}')).json()).toEqual({ input: [1, 2], scale: 2 });
  });

  it("should say a body that is not JSON is not, with the route's own hint", async () => {
    expect((await problem(await post('{"input": [1'))).detail).toBe('the body is not valid JSON; send {"input": [...]}');
  });

  it("should point at the first bad element", async () => {
    const p = await problem(await post('{"input": [1, "x"], "scale": -1}'));
    expect(p.pointer).toBe("/input/1");
    expect(p.detail).toMatch(/^body at \/input\/1: /);
    expect(p.issues).toBe(2);
  });

  it("should list the fields the object at that place takes, not another route's", async () => {
    expect((await problem(await post('{"input": [], "topk": 3}'))).detail).toBe('body: unknown field "topk"; allowed: input, options, scale');
    const nested = await problem(await post('{"options": {"top": 1, "out": "a"}}'));
    expect(nested.pointer).toBe("/options");
    expect(nested.detail).toBe('body at /options: unknown fields "top", "out"; allowed: top_k, output');
  });
});

describe("validationHook", () => {
  it("should name the query or path parameter that failed", () => {
    const error = z.object({ top_k: z.number() }).safeParse({ top_k: "x" }).error;
    expect(() => validationHook({ success: false, error, target: "query" }, undefined as never)).toThrow(/^query parameter at \/top_k: /);
    expect(() => validationHook({ success: true }, undefined as never)).not.toThrow();
  });
});
