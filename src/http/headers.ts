// Response headers every answer carries: nosniff everywhere; predictions and
// errors are never stored by a cache (they depend on the body, or on a
// moment); model cards and the API description are cacheable and carry an
// ETag (hono/etag, mounted on CACHEABLE in app.ts) so a client revalidates
// them cheaply.
import type { MiddlewareHandler } from "hono";
import { runsModel } from "./access";

/** GET routes whose answers a cache may keep, and for how long (seconds). */
export const CACHEABLE: Record<string, number> = {
  "/v1/models": 60,
  "/v1/models/:model": 60,
  "/openapi.json": 300,
};

const cacheable = (path: string): number | undefined =>
  path === "/openapi.json" ? CACHEABLE["/openapi.json"] : /^\/v1\/models(\/[^/]+)?$/.test(path) ? CACHEABLE["/v1/models"] : undefined;

/** Outermost middleware: runs after every other has shaped the answer, 304s included. */
export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    await next();
    const h = c.res.headers;
    h.set("X-Content-Type-Options", "nosniff");
    const maxAge = cacheable(c.req.path);
    if (c.res.status >= 400 || runsModel(c.req.path)) h.set("Cache-Control", "no-store");
    else if (maxAge !== undefined && (c.req.method === "GET" || c.req.method === "HEAD")) h.set("Cache-Control", `public, max-age=${maxAge}`);
  };
}
