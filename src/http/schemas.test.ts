import { OpenAPIHono, type z } from "@hono/zod-openapi";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as all from "./schemas";
import { OipInferRequest, once, PredictBody, PredictQuery, ReadQuery } from "./schemas";

/** The example each named schema documents, as the OpenAPI document has it. */
function examples(): Record<string, unknown> {
  const app = new OpenAPIHono();
  app.openAPIRegistry.register("PredictRequest", PredictBody());
  app.openAPIRegistry.register("OipInferRequest", OipInferRequest());
  const schemas = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }).components?.schemas ?? {};
  return Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, (s as { example?: unknown }).example]));
}

describe("request schemas", () => {
  it("should accept the examples they document (Swagger UI's Try it out sends them)", () => {
    const documented = examples();
    for (const [name, schema] of [
      ["PredictRequest", PredictBody],
      ["OipInferRequest", OipInferRequest],
    ] as const) {
      expect(documented[name], name).toBeTruthy();
      expect(schema().safeParse(documented[name]).success, name).toBe(true);
    }
  });

  it("should read query options as the query string sends them", () => {
    expect(PredictQuery().parse({ top_k: "5", output: "label" })).toEqual({ top_k: 5, output: "label" });
    expect(PredictQuery().safeParse({ top_k: "1001" }).success).toBe(false);
  });

  it("should read an empty query string as no options (validatedQuery skips the schema for it)", () => {
    for (const schema of [PredictQuery, ReadQuery]) expect(schema().parse({})).toEqual({});
  });

  it("should take every path parameter as the router matched it, any non-empty string (matchedParams builds no schema for them)", () => {
    const params = Object.entries(all).filter(([name]) => name.endsWith("Param")) as [string, () => z.ZodObject][];
    expect(params.map(([name]) => name)).toContain("ModelParam");
    for (const [name, schema] of params) {
      const keys = Object.keys(schema().shape);
      fc.assert(
        fc.property(fc.tuple(...keys.map(() => fc.string({ minLength: 1 }))), (values) => {
          const value = Object.fromEntries(keys.map((k, i) => [k, values[i]]));
          expect(schema().parse(value), name).toEqual(value);
        }),
      );
    }
  });

  it("should build each schema on its first use and return that one after", () => {
    let built = 0;
    const schema = once(() => {
      built++;
      return PredictQuery().extend({});
    });
    expect(built).toBe(0);
    expect(schema()).toBe(schema());
    expect(built).toBe(1);
    expect(PredictBody()).toBe(PredictBody());
  });
});
