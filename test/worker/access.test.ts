// Access and abuse: the optional bearer token, the optional rate limiter (a
// fake binding object stands in for the Workers Rate Limiting binding, which
// the local runtime does not enforce), and the headers every answer carries.
import { encode as encodePng } from "fast-png";
import { inspectRoutes } from "hono/dev";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/http/env";
import { DIGITS, draw } from "../fixtures/drawn";
import { expectOipError, expectProblem, freshApp, imageBytes, json, toRows } from "./helpers";

const input = toRows(imageBytes(1, 7), 1)[0];
const oip = { inputs: [{ name: "input", shape: [1, 784], datatype: "FP32", data: input }] };
const withToken = (token: string, body: unknown = { input }) => json(body, { headers: { Authorization: `Bearer ${token}` } });

/** A stand-in for the RATE_LIMITER binding: `limit` requests per key, counting the keys it saw. */
function fakeLimiter(limit: number) {
  const seen = new Map<string, number>();
  return {
    seen,
    limit: async ({ key }: { key: string }) => {
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return { success: n <= limit };
    },
  };
}

describe("bearer token (API_TOKEN)", () => {
  const env: Bindings = { API_TOKEN: "s3cret-token" };

  it("should serve predict and infer without a token when API_TOKEN is unset", async () => {
    const { call } = freshApp();
    expect((await call("/v1/predict", json({ input }))).status).toBe(200);
    expect((await call("/v2/models/mnist-mlp/infer", json(oip))).status).toBe(200);
  });

  it("should answer 401 with WWW-Authenticate without a token, or with a wrong one", async () => {
    const { call } = freshApp();
    const none = await call("/v1/predict", json({ input }), env);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="mnist-edge"');
    await expectProblem(none, 401);
    const wrong = await call("/v1/models/mnist-book/predict", withToken("s3cret-tokeN"), env);
    expect(wrong.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    await expectProblem(wrong, 401);
    const basic = await call("/v1/predict", json({ input }, { headers: { Authorization: "Basic czNjcmV0LXRva2Vu" } }), env);
    expect(basic.status).toBe(401);
    const v2 = await call("/v2/models/mnist-mlp/infer", json(oip), env);
    expect(v2.status).toBe(401);
    expect(v2.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await v2.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
  });

  it("should serve with the right token", async () => {
    const { call } = freshApp();
    expect((await call("/v1/predict", withToken("s3cret-token"), env)).status).toBe(200);
    expect((await call("/v2/models/mnist-mlp/versions/1/infer", withToken("s3cret-token", oip), env)).status).toBe(200);
  });

  it("should keep health, cards, metadata and docs open", async () => {
    const { call } = freshApp();
    for (const path of [
      "/healthz",
      "/v1/models",
      "/v1/models/mnist-mlp",
      "/v2",
      "/v2/health/ready",
      "/v2/models/mnist-mlp",
      "/v2/models/mnist-mlp/ready",
      "/openapi.json",
      "/docs",
    ])
      expect((await call(path, undefined, env)).status, path).toBe(200);
  });
});

describe("rate limiting (RATE_LIMITER)", () => {
  it("should answer 429 with Retry-After past the limit, per client address", async () => {
    const { call } = freshApp();
    const limiter = fakeLimiter(2);
    const env = { RATE_LIMITER: limiter } as Bindings;
    const from = (ip: string) => json({ input }, { headers: { "CF-Connecting-IP": ip } });
    expect((await call("/v1/predict", from("192.0.2.1"), env)).status).toBe(200);
    expect((await call("/v2/models/mnist-mlp/infer", { ...json(oip), headers: { "CF-Connecting-IP": "192.0.2.1" } }, env)).status).toBe(200);
    const over = await call("/v1/predict", from("192.0.2.1"), env);
    expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
    await expectProblem(over, 429);
    expect((await call("/v1/predict", from("192.0.2.2"), env)).status).toBe(200);
    expect([...limiter.seen.keys()]).toEqual(["ip:192.0.2.1", "ip:192.0.2.2"]);
  });

  it("should key by token when one is sent, without the token itself in the key", async () => {
    const { call } = freshApp();
    const limiter = fakeLimiter(1);
    const env = { RATE_LIMITER: limiter, API_TOKEN: "s3cret-token" } as Bindings;
    expect((await call("/v1/predict", withToken("s3cret-token"), env)).status).toBe(200);
    expect((await call("/v1/predict", withToken("s3cret-token"), env)).status).toBe(429);
    const [key] = limiter.seen.keys();
    expect(key).toMatch(/^token:[0-9a-f]+$/);
    expect(key).not.toContain("s3cret");
  });

  it("should key by address when API_TOKEN is unset, whatever bearer tokens a client invents", async () => {
    const { call } = freshApp();
    const limiter = fakeLimiter(1);
    const env = { RATE_LIMITER: limiter } as Bindings;
    const as = (token: string) => json({ input }, { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": "192.0.2.9" } });
    expect((await call("/v1/predict", as("first"), env)).status).toBe(200);
    await expectProblem(await call("/v1/predict", as("second"), env), 429);
    expect([...limiter.seen.keys()]).toEqual(["ip:192.0.2.9"]);
  });

  it("should not count health, cards or docs", async () => {
    const { call } = freshApp();
    const limiter = fakeLimiter(0);
    const env = { RATE_LIMITER: limiter } as Bindings;
    for (const path of ["/healthz", "/v1/models", "/v2/health/ready", "/openapi.json"]) expect((await call(path, undefined, env)).status).toBe(200);
    expect(limiter.seen.size).toBe(0);
  });
});

describe("every route that runs a model, found in the route table", () => {
  const { app, call } = freshApp();
  // A route runs a model when withModel (src/http/inference.ts) is in its chain.
  const routes = [
    ...new Map(
      inspectRoutes(app)
        .filter((r) => r.name === "withModel")
        .map((r) => [`${r.method} ${r.path}`, r] as const),
    ).values(),
  ].map((r) => ({ method: r.method, path: r.path.replace(":model", "mnist-mlp").replace(":version", "1") }));
  // Read routes take pictures: a drawn 7.
  const seven = draw(DIGITS["7"], 100, 120);
  const picture = encodePng({ width: seven.width, height: seven.height, data: seven.data, channels: 1, depth: 8 });
  /** A body the route answers 200 to, with these headers. */
  const request = (path: string, headers: Record<string, string> = {}): RequestInit =>
    path.endsWith("/read")
      ? { method: "POST", headers: { "Content-Type": "image/png", ...headers }, body: picture }
      : json(path.startsWith("/v2/") ? oip : { input }, { headers });
  const answer = (path: string, res: Response, status: number) => (path.startsWith("/v2/") ? expectOipError(res, status) : expectProblem(res, status));

  it("should find the predict, read and infer routes", () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        "POST /v1/models/mnist-mlp/predict",
        "POST /v1/predict",
        "POST /v1/models/mnist-mlp/read",
        "POST /v1/read",
        "POST /v2/models/mnist-mlp/infer",
        "POST /v2/models/mnist-mlp/versions/1/infer",
      ]),
    );
  });

  it("should refuse a request without a token when API_TOKEN is set, and serve one with it", async () => {
    for (const { path } of routes) {
      const res = await call(path, request(path), { API_TOKEN: "s3cret-token" });
      expect(res.headers.get("www-authenticate"), path).toBe('Bearer realm="mnist-edge"');
      await answer(path, res, 401);
      expect((await call(path, request(path, { Authorization: "Bearer s3cret-token" }), { API_TOKEN: "s3cret-token" })).status, path).toBe(200);
    }
  });

  it("should be rate limited when RATE_LIMITER is bound", async () => {
    for (const { path } of routes) {
      const limiter = fakeLimiter(0);
      const res = await call(path, request(path), { RATE_LIMITER: limiter } as Bindings);
      await answer(path, res, 429);
      expect(res.headers.get("retry-after"), path).toBe("60");
      expect(limiter.seen.size, path).toBe(1);
    }
  });

  it("should never be stored by a cache", async () => {
    for (const { path } of routes) {
      const res = await call(path, request(path));
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
  });
});

describe("response headers", () => {
  it("should send nosniff everywhere and no-store on predictions and errors", async () => {
    const { call } = freshApp();
    const predicted = await call("/v1/predict", json({ input }));
    const inferred = await call("/v2/models/mnist-mlp/infer", json(oip));
    const bad = await call("/v1/predict", json({ input: [1] }));
    const missing = await call("/nope");
    for (const res of [predicted, inferred, bad, missing]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    for (const path of ["/healthz", "/docs", "/v2"]) expect((await call(path)).headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("should make cards and /openapi.json cacheable with an ETag that revalidates", async () => {
    const { call } = freshApp();
    for (const path of ["/v1/models", "/v1/models/mnist-book", "/openapi.json"]) {
      const res = await call(path);
      expect(res.headers.get("cache-control"), path).toMatch(/max-age=\d+/);
      const etag = res.headers.get("etag");
      expect(etag, path).toBeTruthy();
      const again = await call(path, { headers: { "If-None-Match": etag as string } });
      expect(again.status, path).toBe(304);
    }
  });
});
