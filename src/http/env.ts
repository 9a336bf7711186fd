import type { ModelRegistry } from "../model/registry";

/** Worker bindings: the [vars] of wrangler.toml, overridable per environment. */
export interface Bindings {
  /** Largest request body in bytes, after gzip decoding too. @default 8388608 (8 MiB) */
  MAX_BODY_BYTES?: string;
  /** Most images in one request. @default 10000 */
  MAX_BATCH?: string;
  /** Comma list of allowed browser origins, or "*". @default "*" */
  CORS_ORIGINS?: string;
}

export interface Variables {
  registry: ModelRegistry;
  requestId: string;
  /** The request's Content-Encoding when it declared one (its body is decoded already). */
  contentEncoding?: string;
}

export type AppEnv = { Bindings: Bindings; Variables: Variables };

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 10_000;

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export function limits(env: Bindings | undefined): { maxBodyBytes: number; maxBatch: number } {
  return {
    maxBodyBytes: positiveInt(env?.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    maxBatch: positiveInt(env?.MAX_BATCH, DEFAULT_MAX_BATCH),
  };
}
