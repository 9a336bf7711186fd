// Routes served from start-up and described on first use. A route's method,
// path and middleware go into the app's route table when the app is built;
// its description (summary, schemas, responses) is a function, called when
// GET /openapi.json is first answered. Its query schema is built on the
// route's first request with options (validatedQuery), which loads the
// schemas module, and zod with it, if nothing has yet. Building every zod
// schema and its OpenAPI metadata as the routes were registered was most of
// the Worker's start-up (BENCHMARKS.md, "Bundle and start-up").
import type { OpenAPIHono, RouteConfig, z } from "@hono/zod-openapi";
import type { Env, Handler, MiddlewareHandler } from "hono";
import { HonoBase, type HonoOptions } from "hono/hono-base";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { once } from "./once";
import { matchedParams, validatedQuery } from "./validation";

/** The schemas module (src/http/schemas.ts). */
export type Schemas = typeof import("./schemas");

/**
 * The schemas module, loaded on first use, and zod and its OpenAPI extension
 * with it: a dynamic import, a module of its own in the Worker's build
 * (scripts/lib/worker-build.ts), compiled and evaluated only when it is
 * first called, so that start-up does neither.
 * @example const body = jsonBody(c, (await schemas()).PredictBody(), example);
 */
export const schemas: () => Promise<Schemas> = once(() => import("./schemas"));

const DESCRIBE = Symbol("describe");

// biome-ignore lint/suspicious/noExplicitAny: any middleware, as RouteConfig takes
type AnyMiddleware = MiddlewareHandler<any, any, any>;

/**
 * What the route table needs now: method, path (OpenAPI's form,
 * /v1/models/{model}) and middleware; `query` is the schema its validator
 * builds on the route's first request with options, `params` the path
 * parameters' schema, for the document (matchedParams checks none).
 */
interface Routing<M, P, W> {
  method: M;
  path: P;
  middleware?: W;
  query?: (s: Schemas) => z.ZodObject;
  params?: (s: Schemas) => z.ZodObject;
}

/** The rest of a route, for the document: summary, request (the same query and params schemas), responses. */
type Description = Omit<RouteConfig, "method" | "path" | "middleware" | "hide">;

/** Route middleware that does nothing but carry its route's description for describeRoutes. */
type Documented = MiddlewareHandler & { [DESCRIBE]: (s: Schemas) => RouteConfig };

/**
 * A route for OpenAPIHono's `openapi()`, typed as the whole route (so the
 * handler's `c.req.valid` and the typed client hc<AppType> see its schemas),
 * that registers nothing with zod-openapi: its query is checked by
 * validatedQuery() as its first request builds it, its path parameters pass as
 * matched (matchedParams), and its JSON body is checked by the
 * handler (jsonBody, over the bytes readBody read: zod-openapi's own body
 * validator would read the request a second time and knows nothing of gzip).
 * `query`, `params` and `describe` take the schemas module, loaded by then;
 * `describe` must use the same schemas as `query` and `params`.
 * @example
 * const getCard = describedRoute({ method: "get", path: "/v1/models/{model}", params: (s) => s.ModelParam() }, (s) => ({
 *   summary: "One model's card",
 *   request: { params: s.ModelParam() },
 *   responses: { 200: { description: "The model card", content: { "application/json": { schema: s.ModelCardSchema() } } } },
 * }));
 */
export function describedRoute<M extends RouteConfig["method"], P extends string, D extends Description, W extends AnyMiddleware[] = []>(
  routing: Routing<M, P, W>,
  describe: (s: Schemas) => D,
): { method: M; path: P; middleware: W } & D {
  const { query, params, middleware = [], ...route } = routing;
  const documented = (async (_c, next) => {
    await next();
  }) as Documented;
  documented[DESCRIBE] = (s) => {
    const description = describe(s);
    for (const [part, schema] of [
      ["query", query],
      ["params", params],
    ] as const)
      if (description.request?.[part] !== schema?.(s))
        throw new Error(`${route.method.toUpperCase()} ${route.path}: its description's request.${part} is not the schema its route checks`);
    return { ...route, ...description };
  };
  const validators = [...(query ? [validatedQuery(async () => query(await schemas()))] : []), ...(params ? [matchedParams] : [])];
  // hide: zod-openapi registers no path; without `request` it installs no validator.
  return { ...route, middleware: [documented, ...middleware, ...validators], hide: true } as unknown as { method: M; path: P; middleware: W } & D;
}

/**
 * The description describedRoute attached to a route's handler, if it is
 * one of its routes (src/http/document.ts reads the route table with it).
 */
export function descriptionOf(handler: unknown): ((s: Schemas) => RouteConfig) | undefined {
  return (handler as Partial<Documented>)[DESCRIBE];
}

/**
 * A route group: a plain Hono app whose `openapi(route, handler)` registers
 * a describedRoute's method, path and middleware as OpenAPIHono's does,
 * typed as OpenAPIHono so that handlers (`c.req.valid`) and the typed client
 * hc<AppType> see each route's schemas (and the app that mounts the groups,
 * so that its route() merges their schemas as OpenAPIHono's does). OpenAPIHono
 * itself would load zod and the OpenAPI libraries at start-up; its types
 * cost nothing at run time. Its router is TrieRouter, built on the first
 * request: Hono's default (SmartRouter) first tries RegExpRouter, which
 * cannot take the service's routes (it refuses /v2/models/:model/stats
 * beside /v2/models/stats) and gives way to TrieRouter only after building
 * most of its matchers, about a millisecond of a cold isolate's first
 * request for nothing (BENCHMARKS.md, "Start-up: the kernel's exports and
 * the router").
 * @example
 * export const native = routeGroup<AppEnv>().openapi(health, (c) => c.json({ status: "ok" }, 200));
 */
export function routeGroup<E extends Env>(options?: HonoOptions<E>): OpenAPIHono<E> {
  const app = new HonoBase<E>({ router: new SmartRouter({ routers: [new TrieRouter()] }), ...options });
  const openapi = (route: { method: string; path: string; middleware: MiddlewareHandler[] }, handler: Handler) => {
    // OpenAPI's /v1/models/{model} is Hono's /v1/models/:model.
    app.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, "/:$1")], ...route.middleware, handler);
    return group;
  };
  const group = Object.assign(app, { openapi });
  return group as unknown as OpenAPIHono<E>;
}
