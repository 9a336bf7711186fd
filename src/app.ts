// The service: middleware, the route groups mounted with app.route(), the
// OpenAPI document and one error policy. createApp takes a registry so tests
// can serve models of their own; the Worker serves the bundled ones.
import { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { timing } from "hono/timing";
import type { ModelRegistry } from "./model/registry";
import { contentEncoding } from "./http/encoding";
import { type AppEnv, limitsOf } from "./http/env";
import { native } from "./http/native";
import { oip } from "./http/oip";
import { onError, ProblemError, problemResponse } from "./http/problem";
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
    allowHeaders: ["Content-Type", "Content-Encoding", "X-Request-Id"],
    exposeHeaders: ["Server-Timing", "X-Request-Id"],
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

/**
 * Builds the app.
 * @example
 * const app = createApp(new ModelRegistry({ "my-net": bytes }, "my-net"));
 * const res = await app.request("/v1/predict", { method: "POST", body: JSON.stringify({ input }) });
 */
export function createApp(registry: ModelRegistry) {
  const app = new OpenAPIHono<AppEnv>();
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
  app.use((c, next) => {
    const limits = limitsOf(c.env);
    c.set("registry", registry);
    c.set("limits", limits);
    return bodyLimitFor(limits.maxBodyBytes)(c, next);
  });

  app.use(contentEncoding());

  const routes = app.route("/", native).route("/", oip);

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "mnist-edge",
      version: VERSION,
      description: "MNIST and Fashion-MNIST networks at the edge. Every error is application/problem+json (RFC 9457).",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "mnist-edge API" }));
  app.notFound((c) => problemResponse(c, 404, { detail: `no route ${c.req.method} ${c.req.path}; see GET /openapi.json or /docs` }));
  app.onError(onError);
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
