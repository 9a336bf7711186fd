import { describe, expect, it } from "vitest";
import { type BodyOptions, isJsonType, mediaType, readBody } from "./body";
import { gzip, unitApp } from "../../test/http";
import { concat } from "./encoding";

/** An app whose one route answers what readBody handed on. */
function echo(options: BodyOptions = {}) {
  return unitApp().post("/", readBody(options), (c) => {
    const { bytes, encoding, notGzip, type } = c.var.body;
    return c.json({ text: new TextDecoder().decode(bytes), length: bytes.length, encoding, notGzip, type });
  });
}

const post = (body: Uint8Array | string, headers: Record<string, string> = {}): RequestInit => ({ method: "POST", headers, body });
type Echo = { text: string; length: number; encoding: string; notGzip?: string; type: string };
const problem = async (res: Response) => (await res.json()) as { status: number; detail: string; limit?: number };

describe("mediaType and isJsonType", () => {
  it("should take the media type without parameters, lower case", () => {
    expect(mediaType("Application/JSON; charset=utf-8")).toBe("application/json");
    expect(mediaType(undefined)).toBe("");
    expect(isJsonType("application/json")).toBe(true);
    expect(isJsonType("application/problem+json")).toBe(true);
    expect(isJsonType("application/jsonp")).toBe(false);
    expect(isJsonType("text/json")).toBe(false);
  });
});

describe("readBody", () => {
  it("should hand on the bytes as sent, with their media type", async () => {
    const res = await echo().request("/", post("hello", { "Content-Type": "text/plain; charset=utf-8" }));
    expect(await res.json()).toEqual({ text: "hello", length: 5, encoding: "identity", type: "text/plain" });
  });

  it("should inflate a body declared gzip, several members too", async () => {
    const body = concat([await gzip(new TextEncoder().encode("two ")), await gzip(new TextEncoder().encode("members"))]);
    const res = await echo().request("/", post(body, { "Content-Encoding": "GZIP" }));
    expect(await res.json()).toMatchObject({ text: "two members", encoding: "gzip" });
  });

  it("should refuse a declared gzip body that is not gzip, or corrupt, with a 400", async () => {
    let res = await echo().request("/", post("plain", { "Content-Encoding": "gzip" }));
    expect(res.status).toBe(400);
    expect((await problem(res)).detail).toBe("Content-Encoding is gzip but the body is not gzip data");
    res = await echo().request("/", post(new Uint8Array([0x1f, 0x8b, 8, 0, 1]), { "Content-Encoding": "gzip" }));
    expect((await problem(res)).detail).toMatch(/^the gzip body is corrupt \(.+\); compress it again$/);
  });

  it("should refuse codings other than gzip and identity with a 415", async () => {
    const res = await echo().request("/", post("x", { "Content-Encoding": "br" }));
    expect(res.status).toBe(415);
    expect((await problem(res)).detail).toBe('Content-Encoding "br" is not supported; send identity or gzip');
  });

  it("should recognise undeclared gzip only for the types that may be sniffed", async () => {
    const z = await gzip(new TextEncoder().encode("pixels"));
    const app = echo({ sniffGzip: ["application/octet-stream"] });
    expect(await (await app.request("/", post(z, { "Content-Type": "application/octet-stream" }))).json()).toMatchObject({
      text: "pixels",
      encoding: "gzip-sniffed",
    });
    expect(await (await app.request("/", post(z, { "Content-Type": "application/json" }))).json()).toMatchObject({ length: z.length, encoding: "identity" });
  });

  it("should hand on bytes that only start like gzip as sent, saying why they did not inflate", async () => {
    const bytes = new Uint8Array([0x1f, 0x8b, 0, 0, 0, 0]);
    const body = (await (
      await echo({ sniffGzip: ["application/octet-stream"] }).request("/", post(bytes, { "Content-Type": "application/octet-stream" }))
    ).json()) as Echo;
    expect(body).toMatchObject({ length: 6, encoding: "identity" });
    expect(body.notGzip).toBeTruthy();
  });

  it("should refuse a body past MAX_BODY_BYTES, as sent or inflated, with a 413 naming the limit", async () => {
    const env = { MAX_BODY_BYTES: "100" };
    let res = await echo().request("/", post(new Uint8Array(101)), env);
    expect(res.status).toBe(413);
    expect(await problem(res)).toMatchObject({ limit: 100, detail: "body over 100 bytes (MAX_BODY_BYTES); send fewer images per request or gzip them" });
    // A stream of unknown length is counted as it comes.
    const stream = new Blob([new Uint8Array(60), new Uint8Array(60)]).stream();
    res = await echo().request("/", { method: "POST", body: stream, duplex: "half" } as RequestInit, env);
    expect(res.status).toBe(413);
    res = await echo().request("/", post(await gzip(new Uint8Array(1000)), { "Content-Encoding": "gzip" }), env);
    expect(res.status).toBe(413);
    expect((await echo().request("/", post(new Uint8Array(100)), env)).status).toBe(200);
  });

  it("should read a body of declared length whole, and time reading it as the Server-Timing span body", async () => {
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    const res = await echo().request("/", post(bytes, { "Content-Length": "3000" }));
    const got = (await res.json()) as Echo;
    expect(got.length).toBe(3000);
    expect(got.text).toBe(new TextDecoder().decode(bytes));
    expect(res.headers.get("Server-Timing")).toMatch(/(^|, )body;dur=[\d.]+;desc="read the request body"/);
  });

  it("should refuse a body past MAX_BODY_BYTES whose Content-Length said less", async () => {
    // Only a Request built in the same process can disagree with its Content-Length; the network holds a body to it.
    const stream = new Blob([new Uint8Array(120)]).stream();
    const res = await echo().request("/", { method: "POST", body: stream, duplex: "half", headers: { "Content-Length": "10" } } as RequestInit, {
      MAX_BODY_BYTES: "100",
    });
    expect(res.status).toBe(413);
    expect((await problem(res)).limit).toBe(100);
  });

  it("should take only the route's Content-Types, naming them in the 415", async () => {
    const app = echo({ accepts: ["application/json", "application/octet-stream", "image/png"] });
    expect((await app.request("/", post("{}", { "Content-Type": "application/json; charset=utf-8" }))).status).toBe(200);
    expect((await app.request("/", post("{}", { "Content-Type": "application/vnd.api+json" }))).status).toBe(200);
    let res = await app.request("/", post("x", { "Content-Type": "text/plain" }));
    expect(res.status).toBe(415);
    expect((await problem(res)).detail).toBe("unsupported Content-Type; send application/json, application/octet-stream or image/png");
    res = await app.request("/", post(new Uint8Array([1, 2, 3])));
    expect(res.status).toBe(415);
    // A route may read a body without a type as one of its own.
    const untyped = echo({ accepts: ["application/octet-stream"], untyped: "application/octet-stream" });
    expect(await (await untyped.request("/", post(new Uint8Array([1, 2, 3])))).json()).toMatchObject({ length: 3, type: "application/octet-stream" });
    // No body and no type: nothing to refuse; the handler says what to send.
    expect(await (await app.request("/", { method: "POST" })).json()).toMatchObject({ length: 0, type: "" });
  });
});
