// Routes served from start-up and described on first use. A route's method,
// path and middleware go into the app's route table when the app is built;
// its description (summary, schemas, responses) is a function, called when
// GET /openapi.json is first answered. Its query and path parameter schemas
// are built on the route's first request (validated). Building every zod
// schema and its OpenAPI metadata as the routes were registered was most of
// the Worker's start-up (BENCHMARKS.md, "Bundle and start-up").
import { OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { validated } from "./validation";

const DESCRIBE = Symbol("describe");

// biome-ignore lint/suspicious/noExplicitAny: any middleware, as RouteConfig takes
type AnyMiddleware = MiddlewareHandler<any, any, any>;

/**
 * What the route table needs now: method, path (OpenAPI's form,
 * /v1/models/{model}) and middleware; `query` and `params` are the schemas
 * its validators build on the route's first request.
 */
interface Routing<M, P, W> {
  method: M;
  path: P;
  middleware?: W;
  query?: () => z.ZodObject;
  params?: () => z.ZodObject;
}

/** The rest of a route, for the document: summary, request (the same query and params schemas), responses. */
type Description = Omit<RouteConfig, "method" | "path" | "middleware" | "hide">;

/** Route middleware that does nothing but carry its route's description for describeRoutes. */
type Documented = MiddlewareHandler & { [DESCRIBE]: () => RouteConfig };

/**
 * A route for OpenAPIHono's `openapi()`, typed as the whole route (so the
 * handler's `c.req.valid` and the typed client hc<AppType> see its schemas),
 * that registers nothing with zod-openapi: its query and params are checked
 * by validated() as its first request builds them, and its JSON body by the
 * handler (jsonBody, over the bytes readBody read: zod-openapi's own body
 * validator would read the request a second time and knows nothing of gzip).
 * `describe` must use the same schemas as `query` and `params`.
 * @example
 * const getCard = describedRoute({ method: "get", path: "/v1/models/{model}", params: ModelParam }, () => ({
 *   summary: "One model's card",
 *   request: { params: ModelParam() },
 *   responses: { 200: { description: "The model card", content: { "application/json": { schema: ModelCardSchema() } } } },
 * }));
 */
export function describedRoute<M extends RouteConfig["method"], P extends string, D extends Description, W extends AnyMiddleware[] = []>(
  routing: Routing<M, P, W>,
  describe: () => D,
): { method: M; path: P; middleware: W } & D {
  const { query, params, middleware = [], ...route } = routing;
  const documented = (async (_c, next) => {
    await next();
  }) as Documented;
  documented[DESCRIBE] = () => {
    const description = describe();
    for (const [part, schema] of [
      ["query", query],
      ["params", params],
    ] as const)
      if (description.request?.[part] !== schema?.())
        throw new Error(`${route.method.toUpperCase()} ${route.path}: its description's request.${part} is not the schema its route checks`);
    return { ...route, ...description };
  };
  const validators = [...(query ? [validated("query", query)] : []), ...(params ? [validated("param", params)] : [])];
  // hide: zod-openapi registers no path; without `request` it installs no validator.
  return { ...route, middleware: [documented, ...middleware, ...validators], hide: true } as unknown as { method: M; path: P; middleware: W } & D;
}

/**
 * The OpenAPI 3.1 document of every described route in these route groups'
 * tables, in the order they were registered.
 */
export function describeRoutes(groups: readonly { routes: readonly { handler: unknown }[] }[], config: Parameters<OpenAPIHono["getOpenAPI31Document"]>[0]) {
  const doc = new OpenAPIHono();
  const seen = new Set<unknown>();
  for (const { routes } of groups)
    for (const { handler } of routes) {
      const describe = (handler as Partial<Documented>)[DESCRIBE];
      if (!describe || seen.has(describe)) continue;
      seen.add(describe);
      doc.openAPIRegistry.registerPath(describe());
    }
  return doc.getOpenAPI31Document(config);
}
