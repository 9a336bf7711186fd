// The Worker as wrangler uploads it (scripts/lib/worker-build.ts): what
// start-up compiles holds none of the modules loaded on first use, zod keeps
// its English locale alone, and every module is one wrangler.toml's rules
// upload, under the name its importer asks for.
//
//   npx vitest run --project node test/node/worker-build.test.ts
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import { ROOT } from "../../scripts/lib/paths";
import { buildWorker, type WorkerBuild } from "../../scripts/lib/worker-build";

/** What only a first use needs: the schemas and zod, the document, the picture decoders and preprocessing, fflate, the OIP routes' answers. */
const LOADED_ON_FIRST_USE = [
  /node_modules\/zod\//,
  /node_modules\/@hono\/zod-openapi\//,
  /node_modules\/@asteasolutions\/zod-to-openapi\//,
  /node_modules\/fflate\//,
  /node_modules\/fast-png\//,
  /node_modules\/jpeg-js\//,
  /^src\/http\/schemas\.ts$/,
  /^src\/http\/document\.ts$/,
  /^src\/image\/decode\.ts$/,
  /^src\/image\/preprocess\.ts$/,
  /^src\/image\/components\.ts$/,
  /^src\/image\/segment\.ts$/,
  /^src\/http\/oip-answers\.ts$/,
  /^src\/http\/oip-binary\.ts$/,
  /^src\/http\/oip-stats\.ts$/,
];

describe("the Worker's build", () => {
  let out: string;
  let built: WorkerBuild;
  /** esbuild's key for a built module (relative to the repository). */
  const outputKey = (module: string) => {
    const key = Object.keys(built.metafile.outputs).find((k) => join(ROOT, k) === join(out, module));
    if (!key) throw new Error(`esbuild wrote no ${module}`);
    return key;
  };
  /** The source files in one built module: the repository's, and packages' as node_modules/<package>/... */
  const inputsOf = (module: string) =>
    Object.keys(built.metafile.outputs[outputKey(module)].inputs).map((i) => i.replace(/^.*?node_modules\//, "node_modules/"));

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "mnist-edge-worker-"));
    built = await buildWorker(out);
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("should compile at start-up none of the modules loaded on first use", () => {
    expect(built.startup).toContain("index.js");
    const early = built.startup.flatMap(inputsOf).filter((i) => LOADED_ON_FIRST_USE.some((re) => re.test(i)));
    expect(early).toEqual([]);
    // They are built, in modules of their own.
    const all = built.modules.flatMap(inputsOf);
    for (const re of LOADED_ON_FIRST_USE)
      expect(
        all.some((i) => re.test(i)),
        String(re),
      ).toBe(true);
  });

  it("should bundle zod's English locale and no other", () => {
    const locales = built.modules.flatMap(inputsOf).filter((i) => /node_modules\/zod\/v4\/locales\//.test(i));
    expect(locales).toEqual(["node_modules/zod/v4/locales/en.js"]);
  });

  it("should write every module wrangler.toml uploads, each import naming one", () => {
    const { rawConfig } = experimental_readRawConfig({ config: "wrangler.toml" });
    expect(rawConfig.main).toBe("dist-worker/index.js");
    const rules = (rawConfig.rules ?? []) as { type: string; globs: string[] }[];
    const esm = rules.filter((r) => r.type === "ESModule").flatMap((r) => r.globs);
    // wrangler's globs, as it matches them against a module's name in dist-worker/.
    const uploaded = (name: string) => esm.some((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*")}$`).test(name));
    expect(built.modules.filter((m) => m !== "index.js" && !uploaded(m))).toEqual([]);
    for (const m of built.modules) {
      const source = readFileSync(join(out, m), "utf8");
      for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?"(\.[^"]+)"/g))
        expect(existsSync(join(out, dirname(m), spec)), `${m} imports ${spec}`).toBe(true);
    }
  });
});
