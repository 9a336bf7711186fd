// Content-Encoding for every request body: gzip is inflated once, here
// (never past MAX_BODY_BYTES, so a small bomb cannot expand), identity
// passes, anything else is a 415. The inflated bytes replace the body in
// Hono's body cache, so validators and handlers read the plain body, JSON or
// binary alike, without a second request or a second inflation.
import { Gunzip } from "fflate";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";
import { badRequest, excerpt, ProblemError } from "./problem";

/** True when bytes start with the gzip magic (RFC 1952: 1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function contentEncoding(): MiddlewareHandler<AppEnv> {
  return async function contentEncoding(c, next) {
    const declared = c.req.header("content-encoding")?.trim().toLowerCase();
    if (declared === undefined || declared === "" || declared === "identity" || !c.req.raw.body) return next();
    if (declared !== "gzip") throw new ProblemError(415, { detail: `Content-Encoding "${excerpt(declared)}" is not supported; send identity or gzip` });
    const raw = new Uint8Array(await c.req.raw.arrayBuffer());
    if (!isGzip(raw)) badRequest("Content-Encoding is gzip but the body is not gzip data");
    const body = await inflate(raw, c.var.limits.maxBodyBytes, true);
    (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(body.buffer as ArrayBuffer);
    c.set("inflated", true);
    return next();
  };
}

const tooBig = (maxBytes: number) =>
  new ProblemError(413, { detail: `gzip body inflates past ${maxBytes} bytes (MAX_BODY_BYTES); send fewer images per request`, limit: maxBytes });

/** The gzip error, worded for a client. */
export class GzipError extends Error {
  override name = "GzipError";
}

/** One gzip member, natively (it checks the CRC and the length), never past `maxBytes`. */
async function inflateMember(raw: Uint8Array, maxBytes: number): Promise<Uint8Array[]> {
  const reader = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return chunks;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooBig(maxBytes);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    throw new GzipError((e as Error).message || (e as Error).name || "invalid gzip data");
  }
}

/**
 * Where each member of a gzip body starts: RFC 1952 allows several members,
 * concatenated, which the runtime's DecompressionStream refuses after the
 * first ("trailing bytes"). fflate finds the boundaries; each member is then
 * inflated natively. Only a body the native pass refused gets here.
 */
function memberStarts(raw: Uint8Array, maxBytes: number): number[] {
  const starts = [0];
  let total = 0;
  const gunzip = new Gunzip((chunk) => {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooBig(maxBytes);
  });
  gunzip.onmember = (offset) => starts.push(offset);
  try {
    gunzip.push(raw, true);
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    return [0]; // corrupt: the native error says why
  }
  return starts;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, ch) => n + ch.byteLength, 0));
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}

/**
 * Inflates gzip data (one member or several), streaming so that output past
 * `maxBytes` is a 413. Corrupt data is a 400 naming the gzip error when
 * `required`, else a GzipError for the caller to weigh.
 */
export async function inflate(raw: Uint8Array, maxBytes: number, required: boolean): Promise<Uint8Array> {
  try {
    try {
      return concat(await inflateMember(raw, maxBytes));
    } catch (e) {
      if (!(e instanceof GzipError)) throw e;
      const starts = memberStarts(raw, maxBytes);
      if (starts.length === 1) throw e;
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < starts.length; i++) {
        for (const ch of await inflateMember(raw.subarray(starts[i], starts[i + 1] ?? raw.length), maxBytes - total)) {
          chunks.push(ch);
          total += ch.byteLength;
        }
      }
      return concat(chunks);
    }
  } catch (e) {
    if (required && e instanceof GzipError) badRequest(`the gzip body is corrupt (${e.message}); compress it again`);
    throw e;
  }
}
