// Caching and response headers. Every answer carries nosniff, and an error
// is never stored by a cache. The rest is mounted on the routes it governs:
// predictions are never stored (noStore: they depend on the body), model
// cards and the API description are cacheable for a while (cacheFor) and
// carry an ETag (entityTag), so a client revalidates them cheaply.
import type { MiddlewareHandler } from "hono";
import { etag } from "hono/etag";
import type { AppEnv } from "./env";

/** Outermost middleware: runs after every other has shaped the answer, 304s included. */
export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    if (c.res.status >= 400) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** Route middleware: the answer is never stored by a cache. */
export function noStore(): MiddlewareHandler<AppEnv> {
  return async function noStore(c, next) {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
  };
}

/**
 * Route middleware for GET routes: a cache may keep a successful answer for
 * `seconds`. Mount it inside entityTag, so a 304 keeps the header too.
 * @example app.get("/openapi.json", entityTag(), cacheFor(300), handler)
 */
export function cacheFor(seconds: number): MiddlewareHandler<AppEnv> {
  return async function cacheFor(c, next) {
    await next();
    if (c.res.status < 400) c.res.headers.set("Cache-Control", `public, max-age=${seconds}`);
  };
}

/**
 * Route middleware for GET routes: hono/etag, tagging an answer with the
 * SHA-1 of its body as hono/etag does by default. Its default looks up
 * `crypto.subtle` as the middleware is made, at start-up, which costs workerd
 * a few tenths of a millisecond there; this looks it up on the first answer
 * it tags.
 * @example app.get("/openapi.json", entityTag(), cacheFor(300), handler)
 */
export function entityTag(): MiddlewareHandler {
  return etag({ generateDigest: (body) => crypto.subtle.digest({ name: "SHA-1" }, body) });
}
