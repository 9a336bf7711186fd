// Content-Encoding for every request body: gzip is inflated once, here
// (never past MAX_BODY_BYTES, so a small bomb cannot expand), identity
// passes, anything else is a 415. The inflated bytes replace the body in
// Hono's body cache, so validators and handlers read the plain body, JSON or
// binary alike, without a second request or a second inflation.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";
import { badRequest, ProblemError } from "./problem";

/** True when bytes start with the gzip magic (RFC 1952: 1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function contentEncoding(): MiddlewareHandler<AppEnv> {
  return async function contentEncoding(c, next) {
    const declared = c.req.header("content-encoding")?.trim().toLowerCase();
    if (declared === undefined || declared === "" || declared === "identity" || !c.req.raw.body) return next();
    if (declared !== "gzip") throw new ProblemError(415, { detail: `Content-Encoding "${declared}" is not supported; send identity or gzip` });
    const raw = new Uint8Array(await c.req.raw.arrayBuffer());
    if (!isGzip(raw)) badRequest("Content-Encoding is gzip but the body is not gzip data");
    const body = await inflate(raw, c.var.limits.maxBodyBytes, true);
    (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(body.buffer as ArrayBuffer);
    c.set("inflated", true);
    return next();
  };
}

/**
 * Inflates gzip data, streaming so that output past `maxBytes` is a 413.
 * Corrupt data is a 400 when `required`, else null (the caller falls back).
 */
export async function inflate(raw: Uint8Array, maxBytes: number, required: true): Promise<Uint8Array>;
export async function inflate(raw: Uint8Array, maxBytes: number, required: false): Promise<Uint8Array | null>;
export async function inflate(raw: Uint8Array, maxBytes: number, required: boolean): Promise<Uint8Array | null> {
  const reader = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new ProblemError(413, { detail: `gzip body inflates past ${maxBytes} bytes (MAX_BODY_BYTES); send fewer images per request`, limit: maxBytes });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    if (!required) return null;
    badRequest(`the gzip body is corrupt (${(e as Error).message}); compress it again`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}
