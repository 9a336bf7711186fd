import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import { createApp } from "./app";
import { corsOrigins, DEFAULTS, IMAGE_PIXELS_PER_REQUEST, limitsOf } from "./config";
import { ModelRegistry } from "./model/registry";

describe("limitsOf", () => {
  it("should give the defaults for unset, empty and invalid values", () => {
    const want = {
      maxBodyBytes: DEFAULTS.MAX_BODY_BYTES,
      maxBatch: DEFAULTS.MAX_BATCH,
      maxImagePixels: DEFAULTS.MAX_IMAGE_PIXELS,
      maxRequestPixels: IMAGE_PIXELS_PER_REQUEST * DEFAULTS.MAX_IMAGE_PIXELS,
    };
    expect(limitsOf(undefined)).toEqual(want);
    expect(limitsOf({})).toEqual(want);
    expect(limitsOf({ MAX_BODY_BYTES: "", MAX_BATCH: "-3", MAX_IMAGE_PIXELS: "1.5" })).toEqual(want);
    expect(limitsOf({ MAX_BATCH: "lots" }).maxBatch).toBe(DEFAULTS.MAX_BATCH);
  });

  it("should read positive whole numbers, and hold a request's pictures to 8 × MAX_IMAGE_PIXELS", () => {
    const l = limitsOf({ MAX_BODY_BYTES: "5000", MAX_BATCH: "3", MAX_IMAGE_PIXELS: "10000" });
    expect(l).toEqual({ maxBodyBytes: 5000, maxBatch: 3, maxImagePixels: 10000, maxRequestPixels: 80000 });
    expect(IMAGE_PIXELS_PER_REQUEST).toBe(8);
  });
});

describe("corsOrigins", () => {
  it("should allow any origin by default and the listed ones when set", () => {
    expect(corsOrigins(undefined)).toBe("*");
    expect(corsOrigins("  ")).toBe("*");
    expect(corsOrigins("https://a.example, https://b.example,")).toEqual(["https://a.example", "https://b.example"]);
  });
});

describe("wrangler.toml", () => {
  /** Cloudflare's run_worker_first patterns: "*" matches any run of characters; "!" excludes. */
  const matcher = (patterns: string[]) => {
    const re = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
    const include = patterns.filter((p) => !p.startsWith("!")).map(re);
    const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => re(p.slice(1)));
    return (path: string) => include.some((r) => r.test(path)) && !exclude.some((r) => r.test(path));
  };

  it("should run the Worker first for every route of the app, not the static assets", () => {
    const { rawConfig } = experimental_readRawConfig({ config: "wrangler.toml" });
    const patterns = rawConfig.assets?.run_worker_first;
    if (!Array.isArray(patterns)) throw new Error("wrangler.toml has no [assets] run_worker_first list");
    const runsWorker = matcher(patterns);
    const app = createApp(new ModelRegistry({}, "none"));
    // A path as a request has it: each parameter, or wildcard, one segment.
    const paths = [...new Set(app.routes.map((r) => r.path).filter((p) => p !== "/*"))].map((p) => p.replace(/:[^/]+/g, "x").replaceAll("*", "x"));
    expect(paths).toContain("/v1/models/x/predict");
    expect(paths).toContain("/v2/models/x/versions/x/infer");
    expect(paths.filter((p) => !runsWorker(p))).toEqual([]);
  });
});
