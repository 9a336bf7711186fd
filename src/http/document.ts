// The OpenAPI document, built from the route groups' tables on the first
// GET /openapi.json. Loaded then, by a dynamic import (src/app.ts): this
// module and the schemas bring in zod and the OpenAPI libraries, which
// start-up does not evaluate.
import { OpenAPIHono } from "@hono/zod-openapi";
import { descriptionOf } from "./described";
import * as schemas from "./schemas";

type Json = Record<string, unknown>;
type Doc = { components?: { schemas?: Record<string, Json> } };

/**
 * The OpenAPI 3.1 document of every described route in these route groups'
 * tables, in the order they were registered, finished by finishDocument.
 */
export function describeRoutes(groups: readonly { routes: readonly { handler: unknown }[] }[], config: Parameters<OpenAPIHono["getOpenAPI31Document"]>[0]) {
  const doc = new OpenAPIHono();
  const seen = new Set<unknown>();
  for (const { routes } of groups)
    for (const { handler } of routes) {
      const describe = descriptionOf(handler);
      if (!describe || seen.has(describe)) continue;
      seen.add(describe);
      doc.openAPIRegistry.registerPath(describe(schemas));
    }
  return finishDocument(doc.getOpenAPI31Document(config));
}

/**
 * What the generated document cannot say from the schemas alone: a promise
 * the handler keeps (src/http/input.ts readJson). A PredictRequest has
 * exactly one of `input` and `inputs` (checked by the handler, which names
 * the field): `oneOf`.
 */
export function finishDocument<T extends object>(generated: T): T {
  const doc = generated as Doc;
  const request = doc.components?.schemas?.PredictRequest;
  if (request) request.oneOf = [{ required: ["input"] }, { required: ["inputs"] }];
  return generated;
}
