// The service: middleware, the route groups mounted with app.route(), the
// OpenAPI document and one error policy. createApp takes a registry so tests
// can serve models of their own; the Worker serves the bundled ones.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { etag } from "hono/etag";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { matchedRoutes } from "hono/route";
import { timing } from "hono/timing";
import type { ModelRegistry } from "./model/registry";
import { apiToken, rateLimit } from "./http/access";
import { finishDocument } from "./http/document";
import { docsPage } from "./http/docs";
import { contentEncoding } from "./http/encoding";
import { type AppEnv, limitsOf } from "./http/env";
import { responseHeaders } from "./http/headers";
import { native } from "./http/native";
import { oip } from "./http/oip";
import { excerpt, onError, ProblemError, problemResponse } from "./http/problem";
import { VERSION } from "./version";

/** Middleware built once per configuration value, not once per request. */
function perConfig<K, V>(make: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = make(key);
      cache.set(key, v);
    }
    return v;
  };
}

const corsFor = perConfig((origins: string) =>
  cors({
    origin:
      origins === "*"
        ? "*"
        : origins
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"],
    exposeHeaders: ["Server-Timing", "X-Request-Id", "Retry-After", "WWW-Authenticate"],
    maxAge: 86400,
  }),
);

const bodyLimitFor = perConfig((maxBodyBytes: number) =>
  bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new ProblemError(413, {
        detail: `body over ${maxBodyBytes} bytes (MAX_BODY_BYTES); send fewer images per request or gzip them`,
        limit: maxBodyBytes,
      });
    },
  }),
);

/** True when a POST route (not only middleware) matched the request. */
function takesBody(c: Context): boolean {
  return c.req.method === "POST" && matchedRoutes(c).some((r) => r.method === "POST");
}

/**
 * Builds the app.
 * @example
 * const app = createApp(new ModelRegistry({ "my-net": bytes }, "my-net"));
 * const res = await app.request("/v1/predict", { method: "POST", body: JSON.stringify({ input }) });
 */
export function createApp(registry: ModelRegistry) {
  // strict: false serves every route with a trailing slash too: "/v2/" is the
  // Open Inference Protocol's own path for server metadata.
  const app = new OpenAPIHono<AppEnv>({ strict: false });
  app.use(responseHeaders());
  app.use(requestId());
  app.use(timing({ crossOrigin: true }));
  app.use((c, next) => corsFor(c.env?.CORS_ORIGINS?.trim() || "*")(c, next));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        problemResponse(c, 405, { detail: `${c.req.method} is not allowed here; use ${methods.join(", ")}` }, { Allow: methods.join(", ") }),
    }),
  );
  app.use(apiToken());
  app.use(rateLimit());
  app.use((c, next) => {
    const limits = limitsOf(c.env);
    c.set("registry", registry);
    c.set("limits", limits);
    // Only a body sent to a route that takes it is read: a wrong method or
    // path gets its 405 or 404, whatever the body.
    return takesBody(c) ? bodyLimitFor(limits.maxBodyBytes)(c, next) : next();
  });
  for (const path of ["/v1/models", "/v1/models/:model", "/openapi.json"]) app.use(path, etag());

  const decodeBody = contentEncoding();
  app.use((c, next) => (takesBody(c) ? decodeBody(c, next) : next()));

  const routes = app.route("/", native).route("/", oip);

  // Generated on first request, then served from memory (with an ETag).
  let document: object | undefined;
  app.get("/openapi.json", (c) => {
    document ??= finishDocument(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "mnist-edge",
          version: VERSION,
          description:
            'MNIST and Fashion-MNIST networks at the edge. Errors are application/problem+json (RFC 9457), except under /v2, where they are the Open Inference Protocol\'s application/json {"error": "..."}.',
        },
      }),
    );
    return c.json(document);
  });
  app.get("/docs", docsPage);
  app.notFound((c) => problemResponse(c, 404, { detail: `no route ${c.req.method} ${excerpt(c.req.path, 80)}; see GET /openapi.json or /docs` }));
  app.onError(onError);
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
