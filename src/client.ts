// A typed client for frontends and servers: every route, its request body
// and its answer are typed from the app itself (hono/client).
import { hc } from "hono/client";
import type { AppType } from "./app";

export type { AppType };

/**
 * @example
 * const api = createClient("https://mnist-edge.example.workers.dev");
 * const res = await api.v1.predict.$post({ json: { input: pixels }, query: {} });
 * const { label, probability } = await res.json();
 */
export function createClient(baseUrl: string, options?: Parameters<typeof hc>[1]) {
  return hc<AppType>(baseUrl, options);
}
