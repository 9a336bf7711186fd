import { describe, expect, it, vi } from "vitest";
import { unitApp } from "../../test/http";
import { apiToken, rateLimit } from "./access";
import type { Bindings } from "./env";

const app = unitApp()
  .post("/", apiToken(), rateLimit(), (c) => c.text("served"))
  .get("/open", (c) => c.text("open"));
const auth = (value: string, more: Record<string, string> = {}): RequestInit => ({ method: "POST", headers: { Authorization: value, ...more } });
const token: Bindings = { API_TOKEN: "s3cret-token" };
const detail = async (res: Response) => ((await res.json()) as { detail: string }).detail;

/** A stand-in for the RATE_LIMITER binding: `limit` requests per key. */
function limiter(limit: number) {
  const seen = new Map<string, number>();
  return {
    seen,
    limit: async ({ key }: { key: string }) => {
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return { success: (seen.get(key) ?? 0) <= limit };
    },
  };
}

describe("apiToken", () => {
  it("should let every request through when API_TOKEN is unset", async () => {
    expect((await app.request("/", { method: "POST" }, {})).status).toBe(200);
  });

  it("should answer 401 with the bare challenge when no bearer token is sent", async () => {
    for (const init of [{ method: "POST" }, auth("Basic czNjcmV0LXRva2Vu"), auth("Bearer"), auth("Bearer to ken")]) {
      const res = await app.request("/", init, token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="mnist-edge"');
      expect(await detail(res)).toBe("this service needs a token: send Authorization: Bearer <token>");
    }
  });

  it("should answer 401 invalid_token for a wrong token, and serve the right one", async () => {
    const wrong = await app.request("/", auth("Bearer s3cret-tokeN"), token);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="mnist-edge", error="invalid_token"');
    expect(await detail(wrong)).toMatch(/not valid/);
    expect((await app.request("/", auth("bearer s3cret-token"), token)).status).toBe(200);
  });

  it("should log the misconfiguration and answer 503, not refuse every client with 401, when API_TOKEN could never be sent", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await app.request("/", auth("Bearer a b"), { API_TOKEN: "a b" })).status).toBe(503);
    expect(String(logged.mock.calls[0][0])).toMatch(/API_TOKEN holds characters/);
    logged.mockRestore();
  });
});

describe("rateLimit", () => {
  it("should key by address without API_TOKEN, whatever token is sent, and answer 429 with Retry-After", async () => {
    const l = limiter(1);
    const env = { RATE_LIMITER: l } as Bindings;
    expect((await app.request("/", auth("Bearer one", { "CF-Connecting-IP": "192.0.2.5" }), env)).status).toBe(200);
    const over = await app.request("/", auth("Bearer two", { "CF-Connecting-IP": "192.0.2.5" }), env);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("60");
    expect(await detail(over)).toMatch(/from this address/);
    expect([...l.seen.keys()]).toEqual(["ip:192.0.2.5"]);
  });

  it("should key by the checked token's digest when API_TOKEN is set", async () => {
    const l = limiter(5);
    await app.request("/", auth("Bearer s3cret-token"), { ...token, RATE_LIMITER: l } as Bindings);
    const [key] = l.seen.keys();
    expect(key).toMatch(/^token:[0-9a-f]{24}$/);
  });

  it("should count nothing on a route it is not mounted on", async () => {
    const l = limiter(0);
    expect((await app.request("/open", undefined, { RATE_LIMITER: l } as Bindings)).status).toBe(200);
    expect(l.seen.size).toBe(0);
  });
});
