import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it, vi } from "vitest";
import { ModelUnavailableError } from "../model/registry";
import { badRequest, type ErrorShape, errorHandler, excerpt, noRoute, oipErrorResponse, ProblemError, problemResponse, wrongMethod } from "./problem";

/** An app answering errors in `shape`, whose one route throws `err`. */
function throwing(shape: ErrorShape, err: () => never) {
  const app = new Hono();
  app.onError(errorHandler(shape));
  app.get("/thing", () => err());
  app.notFound(noRoute(shape));
  return app;
}

describe("problemResponse and oipErrorResponse", () => {
  it("should write RFC 9457 problem+json with the text in `error` too, and the pointer", async () => {
    const res = await throwing(problemResponse, () => badRequest("bad pixel", "/input/3")).request("/thing");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toEqual({
      type: "about:blank",
      title: "Bad Request",
      status: 400,
      detail: "bad pixel",
      error: "bad pixel",
      pointer: "/input/3",
      instance: "/thing",
    });
  });

  it("should write the Open Inference Protocol's {error} as application/json, keeping extra members", async () => {
    const res = await throwing(oipErrorResponse, () => {
      throw new ProblemError(404, { detail: "unknown model", models: ["a"] });
    }).request("/thing");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: "unknown model", models: ["a"] });
  });
});

describe("errorHandler", () => {
  it("should keep a ProblemError's headers", async () => {
    const res = await throwing(problemResponse, () => {
      throw new ProblemError(429, { detail: "slow down" }, { "Retry-After": "60" });
    }).request("/thing");
    expect(res.headers.get("retry-after")).toBe("60");
  });

  it("should answer a model with broken weights with 503 naming it", async () => {
    const res = await throwing(problemResponse, () => {
      throw new ModelUnavailableError("m", "digest differs");
    }).request("/thing");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ model: "m", detail: 'model "m" is unavailable: digest differs. Other models still serve; see GET /v1/models.' });
  });

  it("should take an HTTPException's own answer text and headers (hono/bearer-auth)", async () => {
    const res = await throwing(oipErrorResponse, () => {
      throw new HTTPException(401, { res: new Response("send a token", { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="x"' } }) });
    }).request("/thing");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="x"');
    expect(await res.json()).toEqual({ error: "send a token" });
  });

  it("should answer anything else with a logged 500 that shows no internals", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await throwing(problemResponse, () => {
      throw new Error("secret internals");
    }).request("/thing");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toMatch(/secret/);
    expect(String(logged.mock.calls[0][0])).toMatch(/secret internals/);
    logged.mockRestore();
  });
});

describe("noRoute, wrongMethod and excerpt", () => {
  it("should answer 404 naming the path, and 405 with Allow", async () => {
    const res = await throwing(problemResponse, () => badRequest("x")).request("/nothing-here");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe("no route GET /nothing-here; see GET /openapi.json or /docs");
    const app = new Hono().get("/", (c) => wrongMethod(oipErrorResponse)(c, ["GET", "HEAD"]));
    const wrong = await app.request("/");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(await wrong.json()).toEqual({ error: "GET is not allowed here; use GET, HEAD" });
  });

  it("should cut long client text short", () => {
    expect(excerpt("abc")).toBe("abc");
    expect(excerpt("m".repeat(100))).toBe(`${"m".repeat(40)}…`);
  });
});
