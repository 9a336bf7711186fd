// The Worker's bindings and what a request carries on its Context. Every
// variable is optional: unset, it is its default in src/config.ts.
import type { LimitVars, Limits } from "../config";
import type { Model } from "../model/format";
import type { ModelRegistry } from "../model/registry";
import type { Body } from "./body";

/** Worker bindings: [vars] (see src/config.ts for each one's meaning and default), a secret and a rate limiter. */
export type Bindings = LimitVars & {
  /** Comma list of allowed browser origins, or "*". */
  CORS_ORIGINS?: string;
  /** Secret: when set, predict and infer need `Authorization: Bearer <API_TOKEN>` (src/http/access.ts). */
  API_TOKEN?: string;
  /** Workers Rate Limiting binding ([[ratelimits]]); when bound, predict and infer are rate limited. */
  RATE_LIMITER?: RateLimit;
};

interface Variables {
  registry: ModelRegistry;
  limits: Limits;
  requestId: string;
  /** The request's body, read once by readBody (src/http/body.ts). */
  body: Body;
  /** The model an inference route runs, and its name (src/http/inference.ts withModel). */
  model: Model;
  modelName: string;
}

export type AppEnv = { Bindings: Bindings; Variables: Variables };
