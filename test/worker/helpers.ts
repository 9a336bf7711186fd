import { createApp } from "../../src/app";
import { BUNDLED } from "../../src/model/bundled";
import { DEFAULT_MODEL } from "../../src/model/catalog";
import { BUNDLED_DIGESTS } from "../../src/model/integrity";
import { ModelRegistry } from "../../src/model/registry";
import type { Bindings } from "../../src/http/env";
import { checkOip, openApiChecker } from "./conformance";

/**
 * A fresh app over the bundled weights with its own registry (nothing decoded
 * yet). Every answer `call` receives is checked against the Open Inference
 * Protocol's schemas (on /v2) and the app's own /openapi.json; a
 * non-conforming answer fails the test that received it.
 */
export function freshApp(
  files: Record<string, ArrayBuffer> = BUNDLED,
  defaultModel: string = DEFAULT_MODEL,
  digests: Record<string, string> | undefined = files === BUNDLED ? BUNDLED_DIGESTS : undefined,
) {
  const registry = new ModelRegistry(files, defaultModel, digests);
  const app = createApp(registry);
  const checkOpenApi = openApiChecker((path, init) => app.request(`http://localhost${path}`, init));
  const call = async (path: string, init?: RequestInit, env: Bindings = {}) => {
    const res = await app.request(`http://localhost${path}`, init, env);
    const method = (init?.method ?? "GET").toUpperCase();
    const type = res.headers.get("content-type") ?? "";
    const text = method === "HEAD" ? "" : await res.clone().text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const why = checkOip(method, path, res.status, type, body) ?? (await checkOpenApi(method, path, res.status, type, body));
    if (why) throw new Error(`non-conforming answer: ${why}`);
    return res;
  };
  return { app, registry, call };
}

export const json = (body: unknown, init: RequestInit = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...(init.headers as Record<string, string>) },
  body: JSON.stringify(body),
});

export const binary = (bytes: Uint8Array, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/octet-stream", ...headers },
  body: bytes,
});

export function toRows(bytes: Uint8Array, n: number, scale = 255): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(bytes.subarray(i * 784, i * 784 + 784), (v) => v / scale));
}

export { imageBytes } from "../fixtures/images";
export { gzip } from "../http";

/** An Open Inference Protocol error: application/json {"error": "..."}; returns the body. */
export async function expectOipError(res: Response, status: number): Promise<Record<string, unknown> & { error: string }> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  if (res.headers.get("content-type") !== "application/json") throw new Error(`not application/json: ${res.headers.get("content-type")}`);
  const body = JSON.parse(text) as Record<string, unknown> & { error: string };
  if (typeof body.error !== "string" || !body.error) throw new Error(`no error member: ${text}`);
  return body;
}

export async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  if (!res.headers.get("content-type")?.startsWith("application/problem+json")) throw new Error(`not problem+json: ${res.headers.get("content-type")}`);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (body.status !== status || typeof body.detail !== "string" || body.error !== body.detail) throw new Error(`bad problem body: ${text}`);
  return body;
}

/** The value, after asserting it is there: a missing field fails the test instead of skipping its checks. */
export function present<T>(v: T | undefined | null): T {
  if (v === undefined || v === null) throw new Error("expected a value, got none");
  return v;
}
