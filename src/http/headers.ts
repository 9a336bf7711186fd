// Response headers every answer carries: nosniff everywhere; predictions and
// errors are never stored by a cache (they depend on the body, or on a
// moment); model cards and the API description are cacheable and carry an
// ETag (hono/etag, mounted on those routes in app.ts), so a client
// revalidates them cheaply.
import type { MiddlewareHandler } from "hono";
import { runsModel } from "./access";

/**
 * How long a cache may keep a GET answer, in seconds: the API description
 * changes only with a deploy; a card also says whether its model is decoded
 * yet, so it is kept for a minute.
 */
function maxAge(path: string): number | undefined {
  if (path === "/openapi.json") return 300;
  if (/^\/v1\/models(\/[^/]+)?\/?$/.test(path)) return 60;
  return undefined;
}

/** Outermost middleware: runs after every other has shaped the answer, 304s included. */
export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    await next();
    const h = c.res.headers;
    h.set("X-Content-Type-Options", "nosniff");
    const age = maxAge(c.req.path);
    if (c.res.status >= 400 || runsModel(c.req.path)) h.set("Cache-Control", "no-store");
    else if (age !== undefined && (c.req.method === "GET" || c.req.method === "HEAD")) h.set("Cache-Control", `public, max-age=${age}`);
  };
}
