// For the unit tests beside each src/http module: a small app with the
// limits set as the service sets them and the native error shape, and gzip.
import { Hono } from "hono";
import { timing } from "hono/timing";
import { limitsOf } from "../src/config";
import type { AppEnv } from "../src/http/env";
import { errorHandler, problemResponse } from "../src/http/problem";

/** A Hono app with c.var.limits from the request's env and problem+json errors; add the middleware under test. */
export function unitApp() {
  const app = new Hono<AppEnv>();
  app.use(timing());
  app.use((c, next) => {
    c.set("limits", limitsOf(c.env));
    return next();
  });
  app.onError(errorHandler(problemResponse));
  return app;
}

/** The gzip of `bytes`, by the runtime's own CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}
