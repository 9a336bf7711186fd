// The Open Inference Protocol (KServe v2 REST), as Triton, KServe and
// MLServer serve it, so existing inference clients call this service
// unchanged. Only the protocol's routes live here, with their descriptions;
// their answers are in src/http/oip-answers.ts, loaded on the first request
// that needs one, and bodies become input in src/http/input.ts. Every error
// under /v2, unknown paths and wrong methods included, is the protocol's
// `{"error": "..."}` as application/json: this sub-app has its own onError,
// 405 and 404 (src/http/problem.ts oipErrorResponse).
import type { RouteConfig, z } from "@hono/zod-openapi";
import { methodNotAllowed } from "hono/method-not-allowed";
import { VERSION } from "../version";
import type { AppEnv } from "./env";
import { requireModel } from "./inference";
import { runsModel } from "./policy";
import { BINARY_TYPE, HEADER_LENGTH } from "./oip-names";
import { readBody } from "./body";
import { badRequest, errorHandler, noRoute, oipErrorResponse, wrongMethod } from "./problem";
import { describedRoute, routeGroup, type Schemas } from "./described";
import { once } from "./once";

/** The routes' answers (src/http/oip-answers.ts), loaded by the first request that needs one. */
const answers = once(() => import("./oip-answers"));

/**
 * The protocol extensions served, as Server Metadata lists them. The model
 * repository's index and load are answered (load warms a bundled model);
 * unload is refused, as the bundled models are always loaded.
 */
const EXTENSIONS = ["binary_tensor_data", "statistics", "model_repository"];

// The path parameters of a model route, without and with its version.
const Model = (s: Schemas) => s.OipModelParam();
const ModelVersion = (s: Schemas) => s.OipModelVersionParam();
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const tags = ["Open Inference Protocol"];

const inferErrors = (s: Schemas) => ({
  400: s.oipError("Bad request: not JSON, or a bad datatype, shape, data or outputs; `pointer` names the first bad element"),
  401: s.oipError("API_TOKEN is set and the request has no valid `Authorization: Bearer` token (see WWW-Authenticate)"),
  404: s.oipError("Unknown model or version"),
  405: s.oipError("Wrong method; see the Allow header"),
  413: s.oipError("Body over MAX_BODY_BYTES (after gzip inflation too) or more images than MAX_BATCH"),
  415: s.oipError("A Content-Encoding other than gzip or identity"),
  429: s.oipError("Rate limited (when the RATE_LIMITER binding is set); see Retry-After"),
  503: s.oipError("The model's weights are broken (digest check, header or decode); only a redeploy fixes it"),
});

// Each model route comes twice: with and without the optional /versions/{v}.
type Params = typeof Model | typeof ModelVersion;
const modelGet = <P extends string, Q extends Params, R extends RouteConfig["responses"]>(path: P, params: Q, summary: string, responses: (s: Schemas) => R) =>
  describedRoute({ method: "get", path, params }, (s) => ({ tags, summary, request: { params: params(s) as ReturnType<Q> }, responses: responses(s) }));

const readyRoute = <P extends string, Q extends Params>(path: P, params: Q) =>
  modelGet(path, params, "Model readiness (a probe checks the weights' digest and decodes the model, warming it)", (s) => ({
    200: json(s.OipReady(), "Ready"),
    404: s.oipError("Unknown model or version"),
    503: s.oipError("Not ready: the weights are broken (the answer also says ready: false)"),
  }));

const metadataRoute = <P extends string, Q extends Params>(path: P, params: Q) =>
  modelGet(path, params, "Model metadata (from the weights' header; nothing is decoded)", (s) => ({
    200: json(s.OipModelMetadata(), "Model metadata"),
    404: s.oipError("Unknown model or version"),
    503: s.oipError("The weights are broken (digest check or header)"),
  }));

const statsRoute = <P extends string, Q extends Params>(path: P, params: Q) =>
  modelGet(path, params, "Model statistics (statistics extension): counts and times since this isolate started; each Worker isolate keeps its own", (s) => ({
    200: json(s.OipModelStats(), "Statistics"),
    404: s.oipError("Unknown model or version"),
  }));

// Their bodies (the index's {"ready": ...}) are read once, under the same limits as any other.
// The index's body is documented as the OpenAPI object alone: the handler reads it (indexRequest).
const indexBody = {
  required: false,
  description: 'Empty, {} or {"ready": true} for the ready models alone',
  content: { "application/json": { schema: { type: "object", properties: { ready: { type: "boolean" } } } } },
} as const;
const repositoryRoute = <P extends string, R extends RouteConfig["responses"]>(path: P, summary: string, responses: (s: Schemas) => R) =>
  describedRoute({ method: "post", path, middleware: [readBody()] }, (s) => ({ tags, summary, requestBody: indexBody, responses: responses(s) }));
const repositoryModelRoute = <P extends string, R extends RouteConfig["responses"]>(path: P, summary: string, responses: (s: Schemas) => R) =>
  describedRoute({ method: "post", path, middleware: [readBody()], params: Model }, (s) => ({
    tags,
    summary,
    request: { params: Model(s) },
    responses: responses(s),
  }));

/** What reading a request body can answer besides the route's own statuses. */
const bodyErrors = (s: Schemas) => ({
  413: s.oipError("Body over MAX_BODY_BYTES (after gzip inflation too)"),
  415: s.oipError("A Content-Encoding other than gzip or identity"),
});

// Documented, but kept out of the route's types: the typed client sends and
// reads the JSON form, and a second entry would make its body a union.
const binaryForm = (s: Schemas) => ({ [BINARY_TYPE]: { schema: s.OipBinaryBody() } }) as Record<never, never>;

const inferRoute = <P extends string, Q extends Params>(path: P, params: Q) =>
  describedRoute(
    // The body is JSON whatever its Content-Type says, or without one: `curl
    // -d` sends application/x-www-form-urlencoded, a browser's fetch of a
    // string text/plain, and many clients none. So no type is refused.
    { method: "post", path, middleware: runsModel({}), params },
    (s) => ({
      tags,
      summary: "Inference request (Open Inference Protocol)",
      // Read by the handler, not validated here: documented as the header of the binary form.
      parameters: [
        {
          name: HEADER_LENGTH,
          in: "header",
          required: false,
          schema: { type: "integer", minimum: 1 },
          description: "Binary form only: the length in bytes of the JSON request that starts the body; the binary tensors follow it",
        },
      ],
      request: {
        params: params(s) as ReturnType<Q>,
        body: {
          required: true,
          description: `JSON; or the binary form (binary tensor data extension): the JSON request of ${HEADER_LENGTH} bytes, then each binary input's tensor`,
          content: { "application/json": { schema: s.OipInferRequest() }, ...binaryForm(s) },
        },
      },
      responses: {
        200: {
          description: `Inference response: JSON, or the binary form (with ${HEADER_LENGTH}) when an output is asked for with parameters.binary_data or the request's binary_data_output`,
          headers: {
            [HEADER_LENGTH]: {
              description: "Binary form only: the length in bytes of the JSON answer that starts the body; the binary outputs follow it",
              schema: { type: "integer" },
            },
          },
          content: { "application/json": { schema: s.OipInferResponse() }, ...binaryForm(s) },
        },
        ...inferErrors(s),
      },
    }),
  );

const serverMetadata = describedRoute({ method: "get", path: "/v2" }, (s) => ({
  tags,
  summary: "Server metadata: name, version and the protocol extensions served",
  responses: { 200: json(s.OipServerMetadata(), "Server metadata") },
}));
const serverLive = describedRoute({ method: "get", path: "/v2/health/live" }, (s) => ({
  tags,
  summary: "Server liveness: the process answers (readiness is /v2/health/ready)",
  responses: { 200: json(s.OipLive(), "Live") },
}));
const serverReady = describedRoute({ method: "get", path: "/v2/health/ready" }, (s) => ({
  tags,
  summary: "Server readiness: every model's weights are intact (digest checked, header read; nothing decoded)",
  responses: { 200: json(s.OipReady(), "Ready"), 503: s.oipError("Not ready: a model's weights are broken (the answer also says ready: false)") },
}));
const allStats = describedRoute({ method: "get", path: "/v2/models/stats" }, (s) => ({
  tags,
  summary: "Every model's statistics (statistics extension), since this isolate started",
  responses: { 200: json(s.OipModelStats(), "Statistics") },
}));

const app = routeGroup<AppEnv>();
app.onError(errorHandler(oipErrorResponse));
app.use("/v2/*", methodNotAllowed({ app, onMethodNotAllowed: wrongMethod(oipErrorResponse) }));

const routes = app
  .openapi(serverMetadata, (c) => c.json({ name: "mnist-edge", version: VERSION, extensions: EXTENSIONS }, 200))
  .openapi(serverLive, (c) => c.json({ live: true }, 200))
  .openapi(serverReady, async (c) => c.json(await (await answers()).serverReady(c), 200))
  // Before the model routes: "stats" would otherwise read as a model's name.
  .openapi(allStats, async (c) => c.json((await answers()).modelStats(c), 200))
  .openapi(statsRoute("/v2/models/{model}/stats", Model), async (c) => c.json((await answers()).modelStats(c, c.req.valid("param").model), 200))
  .openapi(statsRoute("/v2/models/{model}/versions/{version}/stats", ModelVersion), async (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json((await answers()).modelStats(c, p.model, p.version), 200);
  })
  .openapi(
    repositoryRoute(
      "/v2/repository/index",
      'Model repository index: every model, READY or UNAVAILABLE (with the reason); body {"ready": true} for the ready ones alone',
      (s) => ({
        200: json(s.OipRepositoryIndex(), "The models"),
        400: s.oipError('A body that is not empty, {} or {"ready": boolean}'),
        ...bodyErrors(s),
      }),
    ),
    async (c) => c.json(await (await answers()).modelIndex(c), 200),
  )
  .openapi(
    repositoryModelRoute(
      "/v2/repository/models/{model}/load",
      "Load a model: the models are bundled and always loaded, so this checks and decodes it (warming it)",
      (s) => ({
        200: { description: "Loaded" },
        400: s.oipError("A gzip body that does not inflate"),
        404: s.oipError("Unknown model"),
        503: s.oipError("The weights are broken; only a redeploy fixes them"),
        ...bodyErrors(s),
      }),
    ),
    async (c) => {
      const { model } = c.req.valid("param");
      await (await answers()).modelReady(c, model);
      return c.body(null, 200);
    },
  )
  .openapi(
    repositoryModelRoute(
      "/v2/repository/models/{model}/unload",
      "Unload a model: not supported; the models are bundled with the deployment and stay loaded",
      (s) => ({
        400: s.oipError("Always: unloading is not supported"),
        404: s.oipError("Unknown model"),
        ...bodyErrors(s),
      }),
    ),
    (c) => {
      const { model } = c.req.valid("param");
      requireModel(c, model);
      return badRequest(`model "${model}" stays loaded: the models are bundled with this deployment, and unload is not supported`);
    },
  )
  .openapi(readyRoute("/v2/models/{model}/ready", Model), async (c) => c.json(await (await answers()).modelReady(c, c.req.valid("param").model), 200))
  .openapi(readyRoute("/v2/models/{model}/versions/{version}/ready", ModelVersion), async (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(await (await answers()).modelReady(c, p.model, p.version), 200);
  })
  .openapi(metadataRoute("/v2/models/{model}", Model), async (c) => c.json(await (await answers()).modelMetadata(c, c.req.valid("param").model), 200))
  .openapi(metadataRoute("/v2/models/{model}/versions/{version}", ModelVersion), async (c) => {
    const p = c.req.valid("param") as { model: string; version: string };
    return c.json(await (await answers()).modelMetadata(c, p.model, p.version), 200);
  })
  .openapi(inferRoute("/v2/models/{model}/infer", Model), async (c) => (await answers()).answerInfer(c))
  .openapi(inferRoute("/v2/models/{model}/versions/{version}/infer", ModelVersion), async (c) => (await answers()).answerInfer(c));

// Last: any other path under /v2 is the protocol's 404 (a wrong method on a
// path above becomes a 405 on its way out, methodNotAllowed above).
app.all("/v2/*", noRoute(oipErrorResponse));

export const oip = routes;
