// One error policy, two shapes. Handlers and route middleware throw
// ProblemError (or Hono's HTTPException); an app's onError turns known errors
// into their answer and logs anything else as a generic 500 without
// internals. The native API answers RFC 9457 problem+json, which also
// carries the text in an `error` member; the Open Inference Protocol's
// sub-app answers its own `{"error": "..."}` as application/json, the only
// Content-Type its clients read the message from.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ModelUnavailableError } from "../model/registry";

/** What a handler says of a problem; status and title are filled in. */
export type ProblemInit = {
  type?: string;
  title?: string;
  detail: string;
  /** RFC 6901 JSON pointer to the first bad element of the request body. */
  pointer?: string;
} & Record<string, unknown>;

export class ProblemError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    public problem: ProblemInit,
    public headers: Record<string, string> = {},
  ) {
    super(status, { message: problem.detail });
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Throws a 400 that points at the offending element. */
export function badRequest(detail: string, pointer?: string): never {
  throw new ProblemError(400, { detail, ...(pointer !== undefined ? { pointer } : {}) });
}

/**
 * At most a short excerpt of something a client sent, for an error text: a
 * model name or path may be kilobytes long.
 * @example `unknown model "${excerpt(name)}"`
 */
export function excerpt(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Writes one error answer in an API's shape. */
export type ErrorShape = (c: Context, status: ContentfulStatusCode, p: ProblemInit, headers?: Record<string, string>) => Response;

/** The native API's errors: RFC 9457 problem+json, naming the path as `instance`. */
export const problemResponse: ErrorShape = (c, status, p, headers = {}) => {
  const requestId = c.get("requestId" as never) as string | undefined;
  const body: Record<string, unknown> = {
    type: "about:blank",
    title: p.title ?? TITLES[status] ?? "Error",
    status,
    ...p,
    error: p.detail,
  };
  // The path names the failing resource unless it is too long to echo.
  if (c.req.path.length <= 200) body.instance = c.req.path;
  if (requestId) body.request_id = requestId;
  return c.body(JSON.stringify(body), status, { "Content-Type": "application/problem+json", ...headers });
};

/** The Open Inference Protocol's errors: `{"error": "..."}` as application/json, with the problem's extra members. */
export const oipErrorResponse: ErrorShape = (c, status, p, headers = {}) => {
  const requestId = c.get("requestId" as never) as string | undefined;
  const { type: _t, title: _ti, detail, ...extra } = p;
  const body = { error: detail, ...extra, ...(requestId ? { request_id: requestId } : {}) };
  return c.body(JSON.stringify(body), status, { "Content-Type": "application/json", ...headers });
};

/** The answer to a method a path does not take (hono/method-not-allowed's onMethodNotAllowed), in an API's shape. */
export function wrongMethod(shape: ErrorShape) {
  return (c: Context, methods: string[]): Response =>
    shape(c, 405, { detail: `${c.req.method} is not allowed here; use ${methods.join(", ")}` }, { Allow: methods.join(", ") });
}

/** The answer to a path no route serves, in an API's shape. */
export function noRoute(shape: ErrorShape) {
  return (c: Context): Response => shape(c, 404, { detail: `no route ${c.req.method} ${excerpt(c.req.path, 80)}; see GET /openapi.json or /docs` });
}

/** Headers of a ready-made error answer worth keeping (WWW-Authenticate, Retry-After, ...): all but the body's own. */
function keptHeaders(res: Response): Record<string, string> {
  const kept: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k !== "content-type" && k !== "content-length") kept[k] = v;
  });
  return kept;
}

/**
 * An app's onError, answering in its shape: ProblemError as it says; a model
 * whose weights are broken as 503; an HTTPException that carries an answer
 * (hono/bearer-auth's 401, worded by its options in src/http/access.ts) with
 * that answer's text and headers; anything else a logged 500.
 */
export function errorHandler(shape: ErrorShape) {
  return async function onError(err: Error, c: Context): Promise<Response> {
    if (err instanceof ProblemError) return shape(c, err.status as ContentfulStatusCode, err.problem, err.headers);
    if (err instanceof ModelUnavailableError) {
      // No Retry-After: broken bundled weights stay broken until a redeploy.
      return shape(c, 503, { detail: `${err.message}. Other models still serve; see GET /v1/models.`, model: err.model });
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const res = err.res;
      const text = res ? (await res.text()).trim() : err.message;
      return shape(c, status, { detail: text || TITLES[status] || "Error" }, res ? keptHeaders(res) : {});
    }
    console.error(JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error: String(err?.stack ?? err) }));
    return shape(c, 500, { detail: "internal error; it has been logged. Try again, or report it with the request id." });
  };
}
