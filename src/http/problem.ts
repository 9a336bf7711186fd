// One error policy for the whole service. Handlers throw ProblemError (or
// Hono's HTTPException); onError turns known errors into their response and
// logs anything else as a generic 500 without internals. Errors are RFC 9457
// problem+json bodies, which also carry the text in an `error` member; under
// /v2 they are the Open Inference Protocol's own `{"error": "..."}` as
// application/json, the only Content-Type its clients read the message from.
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

/** True for the Open Inference Protocol's routes, whose errors are `{"error": "..."}`. */
export function isOip(path: string): boolean {
  return path === "/v2" || path.startsWith("/v2/");
}

export function problemResponse(c: Context, status: ContentfulStatusCode, p: ProblemInit, headers: Record<string, string> = {}): Response {
  const requestId = c.get("requestId" as never) as string | undefined;
  if (isOip(c.req.path)) {
    const { type: _t, title: _ti, detail, ...extra } = p;
    const body = { error: detail, ...extra, ...(requestId ? { request_id: requestId } : {}) };
    return c.body(JSON.stringify(body), status, { "Content-Type": "application/json", ...headers });
  }
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
}

/** Hono's onError: known errors become their problem; anything else a logged 500. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ProblemError) return problemResponse(c, err.status as ContentfulStatusCode, err.problem, err.headers);
  if (err instanceof ModelUnavailableError) {
    // No Retry-After: broken bundled weights stay broken until a redeploy.
    return problemResponse(c, 503, { detail: `${err.message}. Other models still serve; see GET /v1/models.`, model: err.model });
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    let detail = err.message || TITLES[status] || "Error";
    if (status === 400 && /JSON/i.test(detail))
      detail = isOip(c.req.path)
        ? 'the body is not valid JSON; send an inference request such as {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": [...784 numbers]}]}'
        : 'the body is not valid JSON; send a JSON object such as {"input": [...784 numbers]}';
    if (status === 400 && /FormData/.test(detail))
      detail = "the multipart body is malformed; send multipart/form-data (with its boundary) holding one file part per image";
    if (status === 415) detail = "unsupported Content-Type; send application/json, application/octet-stream, image/png, image/jpeg or multipart/form-data";
    return problemResponse(c, status, { detail });
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error: String(err?.stack ?? err) }));
  return problemResponse(c, 500, { detail: "internal error; it has been logged. Try again, or report it with the request id." });
}
