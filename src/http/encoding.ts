// gzip for request bodies (RFC 1952): inflating, never past a limit, so a
// small bomb cannot expand. Which bodies are gzip, declared or recognised
// by their first bytes, is decided by readBody (src/http/body.ts).
import { ProblemError } from "./problem";

/** True when bytes start with the gzip magic (RFC 1952: 1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const tooBig = (maxBytes: number) =>
  new ProblemError(413, { detail: `gzip body inflates past ${maxBytes} bytes (MAX_BODY_BYTES); send fewer images per request`, limit: maxBytes });

/** Data that is not valid gzip; the message is the decoder's, for the caller to word. */
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
 * inflated natively, which checks each CRC. Only a body the native pass
 * refused gets here, and it costs three inflations: the native attempt,
 * fflate's pass (its output dropped) and the native pass per member.
 * fflate is loaded here, on first need: importing it builds its Huffman
 * tables, which start-up need not pay for.
 */
async function memberStarts(raw: Uint8Array, maxBytes: number): Promise<number[]> {
  const { Gunzip } = await import("fflate");
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

/** The chunks, one after another, in one array. */
export function concat(chunks: Uint8Array[]): Uint8Array {
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
 * `maxBytes` is a 413 ProblemError. Data that is not valid gzip throws a
 * GzipError.
 */
export async function inflate(raw: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  try {
    return concat(await inflateMember(raw, maxBytes));
  } catch (e) {
    if (!(e instanceof GzipError)) throw e;
    const starts = await memberStarts(raw, maxBytes);
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
}
