// The published client, as a consumer gets it: `npm pack` (which builds
// client/dist), the tarball installed into a fresh project, then (a) a
// TypeScript consumer type-checked under the Vite template's tsconfig and
// under NodeNext, with @ts-expect-error lines that must stay errors, and (b) a
// plain-JavaScript consumer run by Node against the app over real HTTP.
//
//   npx vitest run --project node test/node/package.test.ts
//
// The install is offline: the temporary project gets a package-lock.json cut
// from this repository's, so npm takes every tarball from its cache.
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, weightsFile } from "../../scripts/lib/paths";
import { createApp } from "../../src/app";
import { encodeIdxImages } from "../../src/data/idx";
import { DEFAULT_MODEL, MODEL_NAMES } from "../../src/model/catalog";
import { ModelRegistry } from "../../src/model/registry";
import { DIGITS, draw } from "../fixtures/drawn";
import { imageBytes } from "../fixtures/images";

interface PackedFile {
  path: string;
  size: number;
}
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  integrity: string;
  files: PackedFile[];
}
type LockEntry = { version: string; integrity?: string; dependencies?: Record<string, string>; [k: string]: unknown };

const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string> };

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false", FORCE_COLOR: "0" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The lock entries a project depending on `deps` needs, taken from this
 * repository's lock: each dependency is looked up as npm resolves it (nested
 * under its parent first, then hoisted), transitively.
 */
function lockSubset(deps: Record<string, string>): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const out: Record<string, LockEntry> = {};
  const visit = (name: string, from: string) => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
      const key = `${dir ? `${dir}/` : ""}node_modules/${name}`;
      const entry = lock.packages[key];
      if (entry) {
        if (out[key]) return;
        out[key] = entry;
        for (const d of Object.keys({ ...entry.dependencies, ...(entry.peerDependencies as Record<string, string>) })) visit(d, key);
        return;
      }
      if (!dir) throw new Error(`${name} (needed by ${from || "the package"}) is not in package-lock.json; run npm install`);
    }
  };
  for (const d of Object.keys(deps)) visit(d, "");
  return out;
}

// The consumer's TypeScript: the @ts-expect-error lines fail the compile if
// the client ever stops rejecting what they do (TS2578: unused directive).
const CONSUMER_TS = `import { ApiError, createClient, type ModelCard, type PredictResponse } from "mnist-edge/client";

const api = createClient("http://localhost:8787");

export async function main(pixels: Uint8Array): Promise<string> {
  const res = await api.v1.predict.$post({ json: { input: Array.from(pixels), scale: 255, top_k: 2 }, query: {} });
  if (res.status === 200) {
    const body = await res.json();
    const label: number | undefined = body.label;
    const model: string = body.model;
    // @ts-expect-error: the answer's model is a string, not a number
    const wrong: number = body.model;
    void [label, model, wrong];
  }
  // @ts-expect-error: an image is an array of pixels, not a string
  await api.v1.predict.$post({ json: { input: "seven" }, query: {} });
  // @ts-expect-error: top_k is a number
  await api.v1.predict.$post({ json: { input: [], top_k: "3" }, query: {} });
  // @ts-expect-error: no such field in a prediction request
  await api.v1.predict.$post({ json: { input: [], topk: 3 }, query: {} });
  // @ts-expect-error: no such route
  await api.v1.predictions.$post({ json: { input: [] } });
  // @ts-expect-error: GET /v1/models/{model} needs its model parameter
  await api.v1.models[":model"].$get();

  const found = await api.v1.models[":model"].$get({ param: { model: "mnist-book" } });
  // @ts-expect-error: the answer may be a 404 problem, not a card, until the status is checked
  const unchecked: ModelCard = await found.json();
  if (found.status !== 200) return (await found.json()).detail;
  const card: ModelCard = await found.json();
  const accuracy: number | null = card.test_accuracy;
  const layers: number[] = card.architecture.layers;
  // @ts-expect-error: test_accuracy is a number or null
  const acc: string = card.test_accuracy;

  const infer = await api.v2.models[":model"].infer.$post({
    param: { model: "mnist-mlp" },
    json: { inputs: [{ name: "input", shape: [1, 784], datatype: "UINT8", data: Array.from(pixels) }] },
  });
  if (infer.status === 200) {
    const outputs: { name: string; data: number[] }[] = (await infer.json()).outputs;
    void outputs;
  }

  const p: PredictResponse = await api.predictPixels(pixels, { model: "mnist-book", output: "label" });
  const labels: number[] | undefined = (await api.predictPixels(pixels, { output: "label" })).labels;
  // @ts-expect-error: output is probabilities, logits or label
  await api.predictPixels(pixels, { output: "softmax" });
  // @ts-expect-error: pixels are bytes, not a number array
  await api.predictPixels([0, 0, 0]);
  const image = await api.predictImage(new Blob([new Uint8Array(8)], { type: "image/png" }), { debug: true });
  const seen: number[][] | undefined = image.input;
  const batch = await api.predictImages([new Blob([new Uint8Array(8)], { type: "image/jpeg" }), new Uint8Array(8)], { preprocess: "mnist" });
  // @ts-expect-error: preprocess is mnist or none
  await api.predictImage(new Uint8Array(8), { preprocess: "resize" });
  // @ts-expect-error: an image is a Blob or bytes
  await api.predictImage("digit.png");
  try {
    await api.predictPixels(new Uint8Array(3));
  } catch (e) {
    if (e instanceof ApiError) return e.problem.detail;
  }
  return JSON.stringify([unchecked, accuracy, layers, acc, p.label, labels, seen, batch.predictions?.[0]?.label]);
}
`;

// The Vite template's tsconfig.app.json (vanilla-ts), without its vite/client types.
const VITE_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    useDefineForClassFields: true,
    module: "ESNext",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: [],
    skipLibCheck: true,
    moduleResolution: "bundler",
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    moduleDetection: "force",
    noEmit: true,
    strict: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    erasableSyntaxOnly: true,
    noFallthroughCasesInSwitch: true,
    noUncheckedSideEffectImports: true,
  },
  include: ["src"],
};

// A Node project's (tsc --init): NodeNext resolution follows the package's
// exports map to the letter.
const NODENEXT_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    erasableSyntaxOnly: true,
  },
  include: ["src"],
};

// The plain-JavaScript consumer: every kind of body against a live server;
// prints what it got as one JSON line.
const CONSUMER_MJS = `import { readFileSync } from "node:fs";
import { ApiError, createClient } from "mnist-edge/client";

const [url, pixelsPath, idxPath, pngPath, jpgPath] = process.argv.slice(2);
const pixels = new Uint8Array(readFileSync(pixelsPath));
const one = pixels.subarray(0, 784);
const api = createClient(url);
const out = { node: process.version };
out.health = await (await api.healthz.$get()).json();
out.models = await (await api.v1.models.$get()).json();
out.card = await (await api.v1.models[":model"].$get({ param: { model: "mnist-book" } })).json();
out.json = await (await api.v1.predict.$post({ json: { input: Array.from(one), scale: 255, top_k: 2 }, query: {} })).json();
out.pixels = await api.predictPixels(one, { model: "mnist-book", top_k: 2 });
out.batch = await api.predictPixels(pixels, { output: "label" });
out.idx = await api.predictPixels(new Uint8Array(readFileSync(idxPath)), { model: "mnist-book", output: "label" });
const infer = await api.v2.models[":model"].infer.$post({
  param: { model: "mnist-mlp" },
  json: { inputs: [{ name: "input", shape: [1, 784], datatype: "UINT8", data: Array.from(one) }], outputs: [{ name: "label" }] },
});
out.oip = await infer.json();
const png = new Uint8Array(readFileSync(pngPath));
const jpg = new Blob([readFileSync(jpgPath)], { type: "image/jpeg" });
out.png = await api.predictImage(png, { debug: true });
out.jpg = await api.predictImage(jpg, { model: "mnist-book", top_k: 1 });
out.images = await api.predictImages([png, jpg], { top_k: 1 });
try {
  await api.predictPixels(new Uint8Array(100));
} catch (e) {
  out.error = { apiError: e instanceof ApiError, status: e.status, type: e.problem.type, detail: e.problem.detail };
}
try {
  await api.predictPixels(one, { model: "no-such-model" });
} catch (e) {
  out.unknown = { status: e.status, detail: e.problem.detail };
}
console.log(JSON.stringify(out));
`;

/** The app over the weights/ files, behind a minimal node:http adapter. */
function serve(app: ReturnType<typeof createApp>): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const response = await app.fetch(
      new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined }),
      {},
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const weights = (name: string) => new Uint8Array(readFileSync(weightsFile(name))).buffer;
const app = createApp(new ModelRegistry(Object.fromEntries(MODEL_NAMES.map((m) => [m, weights(m)])), DEFAULT_MODEL));
const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");

let tmp: string;
let consumer: string;
let packed: Packed;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "mnist-edge-package-"));
  // prepack builds client/dist; its output comes before npm's JSON.
  const stdout = run("npm", ["pack", "--pack-destination", tmp, "--json"], ROOT);
  packed = (JSON.parse(stdout.slice(stdout.lastIndexOf("\n[") + 1)) as Packed[])[0];
  console.log(
    `${packed.filename}: ${packed.size} bytes (${packed.unpackedSize} unpacked), ${packed.files.length} files:\n${packed.files.map((f) => `  ${f.path} ${f.size}`).join("\n")}`,
  );

  consumer = join(tmp, "consumer");
  mkdirSync(join(consumer, "src"), { recursive: true });
  const dependencies = { [rootPkg.name]: `file:../${packed.filename}` };
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }, null, 2));
  const lock = {
    name: "consumer",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "consumer", dependencies },
      [`node_modules/${rootPkg.name}`]: {
        version: rootPkg.version,
        resolved: `file:../${packed.filename}`,
        integrity: packed.integrity,
        dependencies: rootPkg.dependencies,
      },
      ...lockSubset(rootPkg.dependencies),
    },
  };
  writeFileSync(join(consumer, "package-lock.json"), JSON.stringify(lock, null, 2));
  run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], consumer);
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("should ship the built client, its declarations, the README and nothing else", () => {
    expect(packed.files.map((f) => f.path).sort()).toEqual(["README.md", "client/dist/index.d.ts", "client/dist/index.js", "package.json"]);
  });

  it("should declare only hono's types, not the server's source", () => {
    const dts = readFileSync(join(consumer, "node_modules", rootPkg.name, "client", "dist", "index.d.ts"), "utf8");
    const imports = [...dts.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(spec, `the declarations import ${spec}`).toMatch(/^hono(\/[a-z/-]+)?$/);
  });
});

describe("a TypeScript consumer", () => {
  for (const [name, config] of [
    ["the Vite template's tsconfig (bundler resolution, erasableSyntaxOnly, DOM)", VITE_TSCONFIG],
    ["NodeNext resolution", NODENEXT_TSCONFIG],
  ] as const) {
    it(`should type-check under ${name}, wrong bodies and unknown routes rejected`, () => {
      writeFileSync(join(consumer, "src", "main.ts"), CONSUMER_TS);
      const file = `tsconfig.${config === VITE_TSCONFIG ? "vite" : "nodenext"}.json`;
      writeFileSync(join(consumer, file), JSON.stringify(config, null, 2));
      const r = spawnSync(process.execPath, [tsc, "-p", file], { cwd: consumer, encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
      expect(r.status).toBe(0);
    });
  }

  it("should fail to compile when a @ts-expect-error line becomes valid (the check can fail)", () => {
    // Without the directive the wrong body is an error: proves tsc sees the client's types, not any.
    writeFileSync(
      join(consumer, "src", "main.ts"),
      `import { createClient } from "mnist-edge/client";\nawait createClient("http://x").v1.predict.$post({ json: { input: "seven" }, query: {} });\n`,
    );
    writeFileSync(join(consumer, "tsconfig.vite.json"), JSON.stringify(VITE_TSCONFIG, null, 2));
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.vite.json"], { cwd: consumer, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/src\/main\.ts\(2,\d+\): error TS2322/);
  });
});

describe("a plain-JavaScript consumer under Node", () => {
  let server: Server;
  let url: string;
  const N = 5;
  const pixels = imageBytes(N, 11);

  beforeAll(async () => {
    server = await serve(app);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(join(consumer, "consumer.mjs"), CONSUMER_MJS);
    writeFileSync(join(consumer, "pixels.bin"), pixels);
    writeFileSync(join(consumer, "images.idx"), encodeIdxImages(pixels, N));
    // A drawn 7, 200×200, dark on white: as PNG (grey) and JPEG (RGBA in, quality 90).
    const seven = draw(DIGITS["7"], 200, 200);
    writeFileSync(join(consumer, "digit.png"), encodePng({ width: 200, height: 200, data: seven.data, channels: 1, depth: 8 }));
    const rgba = new Uint8Array(200 * 200 * 4).map((_, i) => (i % 4 === 3 ? 255 : seven.data[i >> 2]));
    writeFileSync(join(consumer, "digit.jpg"), jpeg.encode({ width: 200, height: 200, data: rgba }, 90).data);
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** What the app itself answers, in process, for comparison. */
  const direct = async (path: string, init?: RequestInit) => (await app.request(`http://localhost${path}`, init)).json() as Promise<Record<string, unknown>>;

  // Node 22 (this process) and, when installed, the system's Node 20.
  const nodes = [process.execPath];
  const system = spawnSync("/usr/bin/node", ["-v"], { encoding: "utf8" });
  if (system.status === 0 && system.stdout.trim() !== process.version) nodes.push("/usr/bin/node");

  for (const node of nodes) {
    it(`should call every kind of route with ${node === process.execPath ? `this Node (${process.version})` : `${node} (${system.stdout.trim()})`}`, async () => {
      // Asynchronously: the server answering it runs in this process.
      const { stdout } = await promisify(execFile)(node, ["consumer.mjs", url, "pixels.bin", "images.idx", "digit.png", "digit.jpg"], {
        cwd: consumer,
        encoding: "utf8",
        timeout: 60_000,
      });
      const out = JSON.parse(stdout.trim().split("\n").pop() as string);
      expect(out.health).toEqual({ status: "ok" });
      expect(out.models.default).toBe(DEFAULT_MODEL);
      expect(out.models.models.map((m: { name: string }) => m.name).sort()).toEqual([...MODEL_NAMES].sort());
      expect(out.card.architecture.layers).toEqual([784, 50, 100, 10]);

      const one = pixels.subarray(0, 784);
      const wantJson = await direct("/v1/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ input: Array.from(one), scale: 255, top_k: 2 }),
      });
      expect(out.json).toEqual(wantJson);
      const wantBook = await direct("/v1/models/mnist-book/predict?top_k=2", {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: one,
      });
      expect(out.pixels).toEqual(wantBook);
      // A binary body is a batch, even of one image.
      expect(out.pixels.predictions).toHaveLength(1);
      expect(out.pixels.predictions[0].top).toHaveLength(2);

      const wantLabels = (await direct("/v1/predict?output=label", { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: pixels }))
        .labels;
      expect(out.batch).toEqual({ model: DEFAULT_MODEL, labels: wantLabels });
      expect(out.batch.labels).toHaveLength(N);
      const bookLabels = (
        await direct("/v1/models/mnist-book/predict?output=label", { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: pixels })
      ).labels;
      expect(out.idx).toEqual({ model: "mnist-book", labels: bookLabels });

      expect(out.oip.model_name).toBe("mnist-mlp");
      expect(out.oip.outputs).toEqual([{ name: "label", shape: [1], datatype: "INT64", data: [wantJson.label] }]);

      const image = (file: string, type: string, query: string) =>
        direct(`${query}`, { method: "POST", headers: { "Content-Type": type }, body: readFileSync(join(consumer, file)) });
      const wantPng = await image("digit.png", "image/png", "/v1/predict?debug=1");
      expect(out.png).toEqual(wantPng);
      expect(out.png.label).toBe(7);
      expect(out.png.input).toHaveLength(28);
      const wantJpg = await image("digit.jpg", "image/jpeg", "/v1/models/mnist-book/predict?top_k=1");
      expect(out.jpg).toEqual(wantJpg);
      expect(out.jpg.label).toBe(7);
      expect(out.images.model).toBe(DEFAULT_MODEL);
      expect(out.images.predictions.map((p: { label: number }) => p.label)).toEqual([7, 7]);

      expect(out.error).toMatchObject({ apiError: true, status: 400 });
      expect(out.error.detail).toMatch(/784/);
      expect(out.unknown.status).toBe(404);
      expect(out.unknown.detail).toMatch(/mnist-mlp/);
    });
  }
});
