// Access and abuse: an optional bearer token and optional rate limiting on
// the routes that run a model (predict, infer); health, model cards and the
// docs stay open. Both are off unless configured: API_TOKEN is a secret
// (`wrangler secret put API_TOKEN`, or .dev.vars locally), RATE_LIMITER a
// Workers Rate Limiting binding ([[ratelimits]] in wrangler.toml).
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";
import { ProblemError } from "./problem";

/** Paths that run a model (on POST): /v1/.../predict and /v2/.../infer, with or without more after them. */
export function runsModel(path: string): boolean {
  return /^\/v1\/(.*\/)?predict(\/|$)/.test(path) || /^\/v2\/models\/.+\/infer(\/|$)/.test(path);
}

/** The seconds a client told 429 should wait: the longest period the binding allows (10 or 60 s). */
const RATE_LIMIT_RETRY_SECONDS = 60;

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/**
 * Compares two strings in time that depends on neither: both are hashed
 * first (equal lengths, whatever the token's), then every byte is compared.
 */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The bearer token of an Authorization header, if it carries one. */
function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(header ?? "");
  return m?.[1];
}

/**
 * When API_TOKEN is set, a request that runs a model must carry
 * `Authorization: Bearer <API_TOKEN>`; otherwise 401 with WWW-Authenticate.
 */
export function apiToken(): MiddlewareHandler<AppEnv> {
  return async function apiToken(c, next) {
    const expected = c.env?.API_TOKEN;
    if (!expected || c.req.method !== "POST" || !runsModel(c.req.path)) return next();
    const given = bearer(c.req.header("authorization"));
    if (given === undefined || !(await sameSecret(given, expected))) {
      const challenge = given === undefined ? 'Bearer realm="mnist-edge"' : 'Bearer realm="mnist-edge", error="invalid_token"';
      throw new ProblemError(
        401,
        {
          detail:
            given === undefined
              ? "this service needs a token: send Authorization: Bearer <token>"
              : "the bearer token is not valid; check it with the service's operator",
        },
        { "WWW-Authenticate": challenge },
      );
    }
    return next();
  };
}

/**
 * When the RATE_LIMITER binding exists, requests that run a model count
 * against a key: the bearer token's digest when API_TOKEN is set (apiToken
 * has checked it by then), else the client address (CF-Connecting-IP). An
 * unchecked token is never a key: a client could send a new one each time
 * and never reach the limit. Over the limit: 429 with Retry-After.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const limiter = c.env?.RATE_LIMITER;
    if (!limiter || c.req.method !== "POST" || !runsModel(c.req.path)) return next();
    const token = c.env?.API_TOKEN ? bearer(c.req.header("authorization")) : undefined;
    const key = token
      ? `token:${[...(await digest(token)).subarray(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}`
      : `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
    const { success } = await limiter.limit({ key });
    if (!success)
      throw new ProblemError(
        429,
        { detail: `too many requests from this ${token ? "token" : "address"}; wait ${RATE_LIMIT_RETRY_SECONDS} s (Retry-After) or send larger batches` },
        { "Retry-After": String(RATE_LIMIT_RETRY_SECONDS) },
      );
    return next();
  };
}
