// What a route that runs a model goes through, mounted on the route itself
// (createRoute's `middleware`), so a new such route states its policy where
// it is declared. test/worker/access.test.ts finds every route that runs a
// model in the app's route table and checks the token and the rate limit.
import type { MiddlewareHandler } from "hono";
import { apiToken, rateLimit } from "./access";
import { type BodyOptions, readBody } from "./body";
import type { AppEnv } from "./env";
import { noStore } from "./headers";
import { withModel } from "./inference";

/**
 * The route middleware of a route that runs a model, in order: the token
 * (API_TOKEN) and the rate limit (RATE_LIMITER) before anything is read;
 * no-store; the body, read once (`body` says which Content-Types the route
 * takes, 415 and 413 decided here); then the model, so an unknown model
 * is a 404 before the body is parsed and checked.
 * @example createRoute({ method: "post", path, middleware: runsModel({ accepts: ["application/json"] }), ... })
 */
export function runsModel(body: BodyOptions): MiddlewareHandler<AppEnv>[] {
  return [apiToken(), rateLimit(), noStore(), readBody(body), withModel];
}
