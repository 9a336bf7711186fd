import { Hono } from "hono";
import { etag } from "hono/etag";
import { describe, expect, it } from "vitest";
import { cacheFor, entityTag, noStore, responseHeaders } from "./headers";

const app = new Hono()
  .use(responseHeaders())
  .get("/card", entityTag(), cacheFor(60), (c) => c.json({ name: "card" }))
  .get("/card-default", etag(), (c) => c.json({ name: "card" }))
  .get("/broken", cacheFor(60), (c) => c.json({ error: "x" }, 500))
  .post("/predict", noStore(), (c) => c.json({ label: 1 }))
  .get("/plain", (c) => c.text("plain"));

describe("response headers", () => {
  it("should let a cache keep a card for its time, a 304 included", async () => {
    const res = await app.request("/card");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    const again = await app.request("/card", { headers: { "If-None-Match": res.headers.get("etag") ?? "" } });
    expect(again.status).toBe(304);
    expect(again.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("should tag an answer as hono/etag's default does: the SHA-1 of its body", async () => {
    const tag = (await app.request("/card")).headers.get("etag");
    const sha1 = Buffer.from(await crypto.subtle.digest("SHA-1", new TextEncoder().encode('{"name":"card"}'))).toString("hex");
    expect(tag).toBe(`"${sha1}"`);
    expect(tag).toBe((await app.request("/card-default")).headers.get("etag"));
  });

  it("should never let a cache store a prediction or an error", async () => {
    expect((await app.request("/predict", { method: "POST" })).headers.get("cache-control")).toBe("no-store");
    expect((await app.request("/broken")).headers.get("cache-control")).toBe("no-store");
    expect((await app.request("/nowhere")).headers.get("cache-control")).toBe("no-store");
  });

  it("should send nosniff on every answer and no caching rule where none is mounted", async () => {
    const res = await app.request("/plain");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBeNull();
  });
});
