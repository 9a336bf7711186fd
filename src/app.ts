// The service: middleware every request goes through, the route groups
// mounted with app.route() (each with its own policy on its routes and its
// own error shape), the OpenAPI document and the API's 404 and 405.
// createApp takes a registry so tests can serve models of their own; the
// Worker serves the bundled ones.
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { timing } from "hono/timing";
import { corsOrigins, limitsOf } from "./config";
import { routeGroup } from "./http/described";
import { docsPage } from "./http/docs";
import type { AppEnv } from "./http/env";
import { cacheFor, entityTag, responseHeaders } from "./http/headers";
import { native } from "./http/native";
import { oip } from "./http/oip";
import { reader } from "./http/read";
import { errorHandler, noRoute, problemResponse, wrongMethod } from "./http/problem";
import type { ModelRegistry } from "./model/registry";
import { VERSION } from "./version";

/** The API description changes only with a deploy. */
const DOCUMENT_SECONDS = 300;

// One CORS middleware per CORS_ORIGINS value, not one per request.
const corsByOrigins = new Map<string, ReturnType<typeof cors>>();
function corsFor(raw: string | undefined): ReturnType<typeof cors> {
  const key = raw ?? "";
  let mw = corsByOrigins.get(key);
  if (!mw) {
    mw = cors({
      origin: corsOrigins(raw),
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id", "Inference-Header-Content-Length"],
      exposeHeaders: ["Server-Timing", "X-Request-Id", "Retry-After", "WWW-Authenticate", "Inference-Header-Content-Length"],
      maxAge: 86400,
    });
    corsByOrigins.set(key, mw);
  }
  return mw;
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
  const app = routeGroup<AppEnv>({ strict: false });
  app.use(responseHeaders());
  app.use(requestId());
  app.use(timing({ crossOrigin: true }));
  app.use((c, next) => corsFor(c.env?.CORS_ORIGINS)(c, next));
  app.use(methodNotAllowed({ app, onMethodNotAllowed: wrongMethod(problemResponse) }));
  app.use((c, next) => {
    c.set("registry", registry);
    c.set("limits", limitsOf(c.env));
    return next();
  });

  const routes = app.route("/", native).route("/", reader).route("/", oip);

  // Generated on first request from the route groups' tables (each route
  // carries its description, src/http/described.ts), then served from
  // memory (with an ETag). Its module, with zod and the OpenAPI libraries,
  // is loaded then too: start-up evaluates none of them.
  let document: object | undefined;
  app.get("/openapi.json", entityTag(), cacheFor(DOCUMENT_SECONDS), async (c) => {
    const { describeRoutes } = await import("./http/document");
    document ??= describeRoutes([native, reader, oip], {
      openapi: "3.1.0",
      info: {
        title: "mnist-edge",
        version: VERSION,
        description:
          'MNIST and Fashion-MNIST networks at the edge. Errors are application/problem+json (RFC 9457), except under /v2, where they are the Open Inference Protocol\'s application/json {"error": "..."}.',
      },
    });
    return c.json(document);
  });
  app.get("/docs", docsPage);
  // Paths under /v2 never get here: the protocol's sub-app answers its own
  // 404 and 405 (src/http/oip.ts).
  app.notFound(noRoute(problemResponse));
  app.onError(errorHandler(problemResponse));
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
