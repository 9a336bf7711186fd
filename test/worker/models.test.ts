import { DEFAULT_MODEL, MODEL_NAMES } from "../../src/model/catalog";
import { describe, expect, it, vi } from "vitest";
import { BUNDLED } from "../../src/model/bundled";
import type { ModelCard } from "../../src/model/registry";
import { expectOipError, expectProblem, freshApp, json } from "./helpers";

const input = new Array(784).fill(0);

describe("GET /healthz", () => {
  it("should return ok", async () => {
    const res = await freshApp().call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("GET /v1/models", () => {
  it("should describe every bundled model without decoding any", async () => {
    const { call } = freshApp();
    const body = (await (await call("/v1/models")).json()) as { default: string; models: ModelCard[] };
    expect(body.default).toBe(DEFAULT_MODEL);
    expect(body.models.map((m) => m.name)).toEqual(MODEL_NAMES);
    const book = body.models.find((m) => m.name === "mnist-book") as ModelCard;
    expect(book.architecture).toEqual({ layers: [784, 50, 100, 10], activations: ["sigmoid", "sigmoid", "softmax"] });
    expect(book.parameters).toBe(784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10);
    expect(book.bytes).toBe(BUNDLED["mnist-book"].byteLength);
    expect(book.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(book.input_shape).toEqual([28, 28]);
    expect(book.input_scale).toBe(255);
    expect(body.models.every((m) => m.decoded === false)).toBe(true);
  });
});

describe("GET /v1/models/{model}", () => {
  it("should show decoded once a prediction has used the model", async () => {
    const { call } = freshApp();
    expect(((await (await call("/v1/models/mnist-book")).json()) as ModelCard).decoded).toBe(false);
    await call("/v1/models/mnist-book/predict", json({ input }));
    const card = (await (await call("/v1/models/mnist-book")).json()) as ModelCard;
    expect(card.decoded).toBe(true);
    expect(card.default).toBe(false);
  });

  it("should give the sha256 of the weights file", async () => {
    const { call } = freshApp();
    const card = (await (await call("/v1/models/mnist-mlp")).json()) as ModelCard;
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", BUNDLED["mnist-mlp"]))].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(card.sha256).toBe(digest);
  });

  it("should answer 404 listing the models", async () => {
    const body = await expectProblem(await freshApp().call("/v1/models/nope"), 404);
    expect(body.detail).toMatch(new RegExp(`available: ${MODEL_NAMES.join(", ")}`));
  });
});

describe("lazy decoding", () => {
  it("should decode nothing until the first prediction, then each model once", async () => {
    const { call } = freshApp();
    const decoded = async () => ((await (await call("/v1/models")).json()) as { models: ModelCard[] }).models.filter((m) => m.decoded).map((m) => m.name);
    expect(await decoded()).toEqual([]);
    await call("/healthz");
    expect(await decoded()).toEqual([]);
    const responses = await Promise.all(Array.from({ length: 8 }, () => call("/v1/predict", json({ input }))));
    expect(responses.map((r) => r.status)).toEqual(new Array(8).fill(200));
    // Exactly one of the eight concurrent first requests did the decoding.
    expect(responses.filter((r) => /decode;dur=/.test(r.headers.get("Server-Timing") ?? "")).length).toBe(1);
    expect(await decoded()).toEqual([DEFAULT_MODEL]);
    await call("/v1/models/mnist-book/predict", json({ input }));
    expect(await decoded()).toEqual([DEFAULT_MODEL, "mnist-book"]);
  });

  it("should report decode time in Server-Timing only on the request that decoded", async () => {
    const { call } = freshApp();
    const first = await call("/v1/predict", json({ input }));
    const second = await call("/v1/predict", json({ input }));
    expect(first.headers.get("Server-Timing")).toMatch(/decode;dur=/);
    expect(second.headers.get("Server-Timing")).not.toMatch(/decode;dur=/);
    expect(second.headers.get("Server-Timing")).toMatch(/parse;dur=.*infer;dur=|infer;dur=.*parse;dur=/);
  });
});

describe("a model that fails to decode", () => {
  const broken = new Uint8Array(BUNDLED["mnist-book"].byteLength);
  broken.set(new Uint8Array(BUNDLED["mnist-book"]));
  // Corrupt one weight into NaN: the header is fine, the values are not.
  const n = Number(new DataView(broken.buffer).getBigUint64(0, true));
  new DataView(broken.buffer).setUint32(8 + n + 40, 0x7fc00000, true);
  const files = { ...BUNDLED, "mnist-broken": broken.buffer };

  it("should answer 503 with a problem while the others serve", async () => {
    const { call } = freshApp(files);
    const body = await expectProblem(await call("/v1/models/mnist-broken/predict", json({ input })), 503);
    expect(body.detail).toMatch(/non-finite/);
    expect((await call("/v1/predict", json({ input }))).status).toBe(200);
    await expectProblem(await call("/v1/models/mnist-broken/predict", json({ input })), 503);
    expect((await call("/v1/models")).status).toBe(200);
  });
});

describe("a model whose header is broken", () => {
  const files = { ...BUNDLED, "mnist-garbage": new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 1]).buffer };

  it("should be listed as unavailable while the others are described", async () => {
    const { call } = freshApp(files);
    const res = await call("/v1/models");
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: ModelCard[] };
    const garbage = models.find((m) => m.name === "mnist-garbage") as ModelCard;
    expect(garbage.available).toBe(false);
    expect(garbage.error).toMatch(/past the end/);
    expect(models.filter((m) => m.available).map((m) => m.name)).toEqual(MODEL_NAMES);
  });

  it("should answer 503 for it, log why, and make the server not ready", async () => {
    const { call } = freshApp(files);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    await expectProblem(await call("/v1/models/mnist-garbage/predict", json({ input })), 503);
    expect(logged.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/mnist-garbage/);
    logged.mockRestore();
    // Not ready is the same 503 from every probe, as predict answers.
    await expectOipError(await call("/v2/models/mnist-garbage/ready"), 503);
    expect((await call("/v2/models/mnist-book/ready")).status).toBe(200);
    const ready = await expectOipError(await call("/v2/health/ready"), 503);
    expect(ready.error).toMatch(/mnist-garbage/);
    expect(ready.ready).toBe(false);
    expect((await freshApp().call("/v2/health/ready")).status).toBe(200);
  });
});

describe("CORS", () => {
  it("should answer a preflight from any origin by default", async () => {
    const res = await freshApp().call("/v1/predict", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("content-type");
  });

  it("should allow only the configured origins", async () => {
    const { call } = freshApp();
    const env = { CORS_ORIGINS: "https://a.example, https://b.example" };
    const ok = await call("/healthz", { headers: { Origin: "https://b.example" } }, env);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://b.example");
    const no = await call("/healthz", { headers: { Origin: "https://evil.example" } }, env);
    expect(no.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("should expose Server-Timing and X-Request-Id to browsers", async () => {
    const res = await freshApp().call("/healthz", { headers: { Origin: "https://app.example" } });
    expect(res.headers.get("Access-Control-Expose-Headers")).toMatch(/Server-Timing/);
    expect(res.headers.get("Access-Control-Expose-Headers")).toMatch(/X-Request-Id/);
  });
});

describe("every response", () => {
  it("should carry X-Request-Id and Server-Timing, errors included", async () => {
    const { call } = freshApp();
    for (const res of [await call("/healthz"), await call("/nope"), await call("/v1/predict", json({ input: [1] }))]) {
      expect(res.headers.get("X-Request-Id")).toMatch(/^[\w-]+$/);
      expect(res.headers.get("Server-Timing")).toMatch(/total;dur=/);
    }
  });

  it("should echo a client's X-Request-Id", async () => {
    const res = await freshApp().call("/healthz", { headers: { "X-Request-Id": "abc-123" } });
    expect(res.headers.get("X-Request-Id")).toBe("abc-123");
  });

  it("should answer unknown routes with a problem", async () => {
    await expectProblem(await freshApp().call("/v3/whatever"), 404);
  });
});

describe("GET /openapi.json and /docs", () => {
  it("should document every route", async () => {
    const doc = (await (await freshApp().call("/openapi.json")).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/healthz",
      "/v1/models",
      "/v1/models/{model}",
      "/v1/models/{model}/predict",
      "/v1/predict",
      "/v2",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{model}",
      "/v2/models/{model}/ready",
      "/v2/models/{model}/infer",
      "/v2/models/{model}/versions/{version}/infer",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    const predict = doc.paths["/v1/predict"].post as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(predict.requestBody.content)).toEqual([
      "application/json",
      "application/octet-stream",
      "image/png",
      "image/jpeg",
      "multipart/form-data",
    ]);
  });

  it("should serve Swagger UI from this origin, nothing from a CDN", async () => {
    const res = await freshApp().call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs).toEqual(["/swagger-ui/swagger-ui.css", "/openapi.json", "/swagger-ui/swagger-ui-bundle.js", "/swagger-ui/init.js"]);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
