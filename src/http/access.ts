// Access and abuse: an optional bearer token and optional rate limiting,
// mounted on the routes that run a model (src/http/policy.ts); health, model
// cards and the docs stay open. Both are off unless configured: API_TOKEN is
// a secret (`wrangler secret put API_TOKEN`, or .dev.vars locally),
// RATE_LIMITER a Workers Rate Limiting binding ([[ratelimits]] in wrangler.toml).
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "./env";
import { ProblemError } from "./problem";

/** The seconds a client told 429 should wait: the longest period the binding allows (10 or 60 s). */
const RATE_LIMIT_RETRY_SECONDS = 60;

const REALM = "mnist-edge";
const NEEDS_TOKEN = "this service needs a token: send Authorization: Bearer <token>";

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/**
 * Compares two strings in time that depends on neither: both are hashed
 * first (equal lengths, whatever the token's), then every byte is compared.
 */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// The texts become the error's detail (src/http/problem.ts errorHandler).
const bearer = bearerAuth({
  realm: REALM,
  verifyToken: (token, c) => sameSecret(token, (c.env as AppEnv["Bindings"]).API_TOKEN ?? ""),
  noAuthenticationHeader: { message: NEEDS_TOKEN },
  // Another scheme (Basic) or no token after "Bearer" is a request without
  // a bearer token: 401 with the bare challenge (RFC 6750 §3.1), where
  // bearer-auth would answer 400.
  invalidAuthenticationHeader: {
    wwwAuthenticateHeader: `Bearer realm="${REALM}"`,
    message: () => new Response(NEEDS_TOKEN, { status: 401 }),
  },
  invalidToken: {
    wwwAuthenticateHeader: `Bearer realm="${REALM}", error="invalid_token"`,
    message: "the bearer token is not valid; check it with the service's operator",
  },
}) as MiddlewareHandler<AppEnv>;

/** What a bearer token may hold (RFC 6750 b64token); hono/bearer-auth refuses any other before comparing. */
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * When API_TOKEN is set, the request must carry `Authorization: Bearer
 * <API_TOKEN>` (hono/bearer-auth, compared in constant time); otherwise 401
 * with WWW-Authenticate.
 */
export function apiToken(): MiddlewareHandler<AppEnv> {
  return async function apiToken(c, next) {
    const expected = c.env?.API_TOKEN;
    if (!expected) return next();
    // No client could ever send such a token: the service is misconfigured,
    // not the client wrong. Logged for the operator, and a 503 (not a 401
    // that sends every client to check a token that cannot work).
    if (!B64TOKEN.test(expected)) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "API_TOKEN holds characters a bearer token cannot (RFC 6750: letters, digits, - . _ ~ + / and trailing =); set another, e.g. openssl rand -hex 32",
        }),
      );
      throw new ProblemError(503, { detail: "this service's access token is misconfigured; tell its operator (the log says how to fix it)" });
    }
    return bearer(c, next);
  };
}

/** The bearer token of an Authorization header, if it carries one. */
function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? "")?.[1];
}

/**
 * When the RATE_LIMITER binding exists, each request counts against a key:
 * the bearer token's digest when API_TOKEN is set (apiToken, mounted before
 * this, has checked it), else the client address (CF-Connecting-IP). An
 * unchecked token is never a key: a client could send a new one each time
 * and never reach the limit. Over the limit: 429 with Retry-After.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const limiter = c.env?.RATE_LIMITER;
    if (!limiter) return next();
    const token = c.env?.API_TOKEN ? bearerToken(c.req.header("authorization")) : undefined;
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
