// A request's bytes, read once, here: route middleware that checks the
// Content-Type against the route's own list, reads the body up to
// MAX_BODY_BYTES, inflates gzip (declared by Content-Encoding, or for raw
// pixels recognised by its magic) never past that limit either, and puts the
// result on the Context for the handler (c.var.body). Handlers never read
// the request themselves.
import type { MiddlewareHandler } from "hono";
import { endTime, startTime } from "hono/timing";
import type { AppEnv } from "./env";
import { concat, GzipError, inflate, isGzip } from "./encoding";
import { badRequest, excerpt, ProblemError } from "./problem";

/** A request body as readBody hands it on. */
export interface Body {
  /** The bytes, inflated when they came gzip'd. */
  bytes: Uint8Array;
  /** How they arrived: as they are; gzip by Content-Encoding; gzip recognised by its magic (1f 8b) alone. */
  encoding: "identity" | "gzip" | "gzip-sniffed";
  /**
   * Set when the body starts like gzip but does not inflate: the decoder's
   * reason. `bytes` are then as sent, for raw pixels can start 1f 8b too;
   * the reader of pixels decides (src/http/input.ts binaryImages).
   */
  notGzip?: string;
  /** The Content-Type's media type, lower case; the route's `untyped` type when none was sent. */
  type: string;
}

export interface BodyOptions {
  /** The media types the route takes, as its OpenAPI request body lists them; any other is a 415. Unset: any type. */
  accepts?: readonly string[];
  /** Media types whose bodies may be gzip without Content-Encoding (raw pixels from tools that only compress). */
  sniffGzip?: readonly string[];
  /** The media type a body without a Content-Type is read as (a browser's fetch of a Uint8Array sends none). Unset: "". */
  untyped?: string;
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** True for application/json and its +json relatives (application/problem+json, ...). */
export function isJsonType(type: string): boolean {
  return /^application\/([a-z0-9.-]+\+)?json$/.test(type);
}

function accepted(type: string, accepts: readonly string[]): boolean {
  return accepts.some((t) => t === type || (t === "application/json" && isJsonType(type)));
}

/** "a, b or c" */
function anyOf(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

const tooLarge = (maxBytes: number) =>
  new ProblemError(413, {
    detail: `body over ${maxBytes} bytes (MAX_BODY_BYTES); send fewer images per request or gzip them`,
    limit: maxBytes,
  });

/**
 * The request's body, refused past `maxBytes`. A declared Content-Length is
 * checked before anything is read, and such a body is then read by the
 * runtime in one piece (one buffer of that length, no chunk by chunk in
 * JavaScript: about half the time for 7.8 MB under wrangler dev); a body of
 * unknown length is counted as it streams in and refused as soon as it passes.
 */
async function readAtMost(req: Request, declaredLength: string | undefined, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(declaredLength);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) return new Uint8Array(0);
  if (declaredLength !== undefined && Number.isSafeInteger(declared)) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    // HTTP framing holds a body to its Content-Length; a Request built in
    // the same process need not, so the limit is checked again.
    if (bytes.length > maxBytes) throw tooLarge(maxBytes);
    return bytes;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0] : concat(chunks);
}

/**
 * Route middleware: reads the request's body once (see the file's comment),
 * timed as the Server-Timing span "body", and sets c.var.body. 415 for a Content-Type the route does not take, or a
 * Content-Encoding other than gzip or identity; 413 past MAX_BODY_BYTES,
 * before or after inflating; 400 for a declared gzip body that is not gzip.
 * @example createRoute({ ..., middleware: [readBody({ accepts: ["application/json"] })] })
 */
export function readBody(options: BodyOptions = {}): MiddlewareHandler<AppEnv> {
  const { accepts, sniffGzip = [], untyped = "" } = options;
  return async function readBody(c, next) {
    const maxBytes = c.var.limits.maxBodyBytes;
    const type = mediaType(c.req.header("content-type")) || untyped;
    const coding = c.req.header("content-encoding")?.trim().toLowerCase() || "identity";
    if (coding !== "identity" && coding !== "gzip")
      throw new ProblemError(415, { detail: `Content-Encoding "${excerpt(coding)}" is not supported; send identity or gzip` });
    if (accepts && type !== "" && !accepted(type, accepts)) throw new ProblemError(415, { detail: `unsupported Content-Type; send ${anyOf(accepts)}` });
    // Its own Server-Timing span: the bytes arriving is the network's time, not parsing's.
    startTime(c, "body", "read the request body");
    const raw = await readAtMost(c.req.raw, c.req.header("content-length"), maxBytes);
    endTime(c, "body");
    if (accepts && type === "" && raw.length > 0) throw new ProblemError(415, { detail: `a body needs a Content-Type; send ${anyOf(accepts)}` });
    let body: Body = { bytes: raw, encoding: "identity", type };
    if (coding === "gzip" && raw.length > 0) {
      if (!isGzip(raw)) badRequest("Content-Encoding is gzip but the body is not gzip data");
      try {
        body = { bytes: await inflate(raw, maxBytes), encoding: "gzip", type };
      } catch (e) {
        if (e instanceof GzipError) badRequest(`the gzip body is corrupt (${e.message}); compress it again`);
        throw e;
      }
    } else if (coding === "identity" && sniffGzip.includes(type) && isGzip(raw)) {
      try {
        body = { bytes: await inflate(raw, maxBytes), encoding: "gzip-sniffed", type };
      } catch (e) {
        if (!(e instanceof GzipError)) throw e;
        body = { ...body, notGzip: e.message };
      }
    }
    c.set("body", body);
    await next();
  };
}
