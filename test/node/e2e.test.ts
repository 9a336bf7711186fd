// End to end: the Worker under a real `wrangler dev` (workerd), over real
// HTTP from Node's fetch, checked against a Node-side forward pass of the
// same weights files. Slow: it bundles and boots the Worker, then sends the
// whole 10000-image test set once per bundled model, plain and gzip'd.
//
//   npx vitest run --project node test/node/e2e.test.ts
//
// Tests that need a data set skip, saying which folder, when it is absent.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../scripts/lib/evaluate";
import { weightsFile } from "../../scripts/lib/paths";
import { startWranglerDev, type WranglerDev } from "../../scripts/lib/wrangler-dev";
import { encodeIdxImages } from "../../src/data/idx";
import { DEFAULT_MODEL, MODEL_NAMES, MODELS as CATALOG } from "../../src/model/catalog";
import { decodeModel, type Model } from "../../src/model/format";
import { argmax } from "../../src/nn/functions";
import { pixelsToInput } from "../../src/nn/network";
import { DATASET_DIRS, type DatasetName, datasetOfFile, datasetPresent, loadSplit, type Split, skipWithoutData } from "../fixtures/datasets";
import { imageBytes } from "../fixtures/images";
import { expectClose } from "../helpers";

const D = 784;
const weightsPath = weightsFile;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every bundled model (the catalog), and the data set it was trained on, as its metadata says.
const MODELS = [...MODEL_NAMES].sort();
function datasetOf(name: (typeof MODELS)[number]): DatasetName {
  try {
    return datasetOfFile(readFileSync(weightsPath(name))) ?? CATALOG[name].dataset;
  } catch {
    return CATALOG[name].dataset; // a file caught mid-write by a training job
  }
}
function needs(ds: DatasetName): string {
  const rel = relative(process.cwd(), DATASET_DIRS[ds]);
  return `needs ${rel && !rel.startsWith("../..") ? rel : DATASET_DIRS[ds]}`;
}
const mnistPresent = datasetPresent("mnist", "test");

const splits = new Map<DatasetName, Split>();
function testSplit(ds: DatasetName): Split {
  let s = splits.get(ds);
  if (!s) {
    s = loadSplit(ds, "test");
    splits.set(ds, s);
  }
  return s;
}

/** n real MNIST test images when the data is there, else synthetic ones. */
function sampleImages(n: number): Uint8Array {
  return mnistPresent ? testSplit("mnist").pixels.slice(0, n * D) : imageBytes(n, 7);
}

let dev: WranglerDev;
// The weights as they were before wrangler bundled them. Training jobs may
// rewrite a file mid-run; wrangler dev then may or may not rebuild, so the
// server serves either these bytes or the file's current ones.
const snapshot = new Map<string, Uint8Array>();

beforeAll(async () => {
  for (const m of MODELS) snapshot.set(m, new Uint8Array(readFileSync(weightsPath(m))));
  dev = await startWranglerDev({ timeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await dev?.stop();
});

async function servedSha(name: string): Promise<string> {
  try {
    const res = await fetch(`${dev.url}/v1/models/${name}`);
    return res.ok ? ((await res.json()) as { sha256: string }).sha256 : `HTTP ${res.status}`;
  } catch (e) {
    return (e as Error).message; // mid-reload
  }
}

/**
 * Runs `check` with the model the server serves right now, decoded from the
 * same bytes (matched by the model card's sha256), and runs it again if the
 * server's weights changed underneath it.
 */
async function withServedWeights<T>(name: string, check: (model: Model) => Promise<T>): Promise<T> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    let bytes: Uint8Array | undefined;
    let served = "";
    const candidates: Uint8Array[] = [];
    for (const deadline = Date.now() + 60_000; ; ) {
      served = await servedSha(name);
      candidates.splice(0, candidates.length, new Uint8Array(readFileSync(weightsPath(name))), snapshot.get(name) ?? new Uint8Array());
      bytes = candidates.find((b) => sha256(b) === served);
      if (bytes || Date.now() > deadline) break;
      await sleep(500);
    }
    if (!bytes)
      throw new Error(
        `the server's ${name} (sha256 ${served}) is neither weights/${name}.safetensors (${sha256(candidates[0])}) nor the file as it was at startup; wrangler dev did not reload it?\n${dev.output()}`,
      );
    let result: T;
    try {
      result = await check(decodeModel(bytes));
    } catch (e) {
      if (attempt === 3 || (await servedSha(name)) === served) throw e;
      console.warn(`${name}: the served weights changed during attempt ${attempt}; trying again`);
      continue;
    }
    if ((await servedSha(name)) === served) return result;
    console.warn(`${name}: the served weights changed during attempt ${attempt}; trying again`);
  }
  throw new Error(`weights/${name}.safetensors changed under every one of 3 attempts`);
}

/**
 * fetch, sent again once when the pooled keep-alive socket turned out closed.
 * The local forward pass before a big POST can outlast the server's idle
 * timeout; fetch never resends a POST by itself, so a stale socket surfaces as
 * EPIPE or ECONNRESET although the server is fine.
 */
async function postOnFreshSocket(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const code = ((e as Error).cause as { code?: string } | undefined)?.code;
    if (code !== "EPIPE" && code !== "ECONNRESET" && code !== "UND_ERR_SOCKET") throw e;
    return fetch(url, init);
  }
}

async function postJson(path: string, body: unknown): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const res = await fetch(`${dev.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: (await res.json()) as Record<string, unknown> };
}

interface Pred {
  label: number;
  name: string;
  probability: number;
  top: { label: number; name: string; probability: number }[];
  probabilities: number[];
}

describe("wrangler dev, end to end", () => {
  it("GET /healthz and /v1/models list every bundled model (the catalog)", async () => {
    const health = await fetch(`${dev.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const list = (await (await fetch(`${dev.url}/v1/models`)).json()) as { default: string; models: { name: string }[] };
    expect(list.default).toBe(DEFAULT_MODEL);
    expect(list.models.map((m) => m.name).sort()).toEqual(MODELS);
  });

  it(`POST /v1/predict, one JSON image in [0, 1]${mnistPresent ? "" : " (synthetic: MNIST absent)"}`, async () => {
    await withServedWeights(DEFAULT_MODEL, async (model) => {
      const pixels = sampleImages(1);
      const input = Array.from(pixels, (p) => p / 255);
      const { status, type, body } = await postJson("/v1/predict", { input });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(type).toMatch(/^application\/json/);
      expect(Object.keys(body).sort()).toEqual(["label", "model", "name", "probabilities", "probability", "top"]);
      const p = body as unknown as Pred & { model: string };
      expect(p.model).toBe(DEFAULT_MODEL);
      expect(p.probabilities).toHaveLength(10);
      for (const v of p.probabilities) expect(v >= 0 && v <= 1).toBe(true);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.label).toBe(argmax(Float32Array.from(p.probabilities))[0]);
      expect(p.name).toBe(model.labels[p.label]);
      expect(p.probability).toBe(p.probabilities[p.label]);
      expect(p.top).toHaveLength(3);
      expect(p.top[0]).toEqual({ label: p.label, name: p.name, probability: p.probability });
      for (let i = 1; i < p.top.length; i++) expect(p.top[i].probability).toBeLessThanOrEqual(p.top[i - 1].probability);
      // The same numbers as Node: x = (v / 1) · 255 / input_scale, as the service scales.
      const k = 255 / model.inputScale;
      const want = model.network.forward(
        Float32Array.from(input, (v) => v * k),
        1,
      );
      expectClose(Float32Array.from(p.probabilities), want, 1e-5);
      expect(p.label).toBe(argmax(want)[0]);
    });
  });

  it(`POST /v1/models/${DEFAULT_MODEL}/predict, a JSON batch of raw bytes ("scale": 255)${mnistPresent ? " of real test images" : " (synthetic: MNIST absent)"}`, async () => {
    await withServedWeights(DEFAULT_MODEL, async (model) => {
      const N = 12;
      const pixels = sampleImages(N);
      const inputs = Array.from({ length: N }, (_, n) => Array.from(pixels.subarray(n * D, (n + 1) * D)));
      const { status, body } = await postJson(`/v1/models/${DEFAULT_MODEL}/predict`, { inputs, scale: 255, top_k: 2 });
      expect(status, JSON.stringify(body)).toBe(200);
      const preds = body.predictions as Pred[];
      expect(body.model).toBe(DEFAULT_MODEL);
      expect(preds).toHaveLength(N);
      // The service scales x = v · (255 / input_scale / scale); with scale 255 that is pixelsToInput's v / input_scale.
      const y = model.network.forward(pixelsToInput(pixels, model.inputScale), N);
      const want = Array.from(argmax(y, 10));
      expect(preds.map((p) => p.label)).toEqual(want);
      for (let n = 0; n < N; n++) {
        expect(preds[n].top).toHaveLength(2);
        expectClose(Float32Array.from(preds[n].probabilities), y.subarray(n * 10, n * 10 + 10), 1e-5);
      }
    });
  });

  it("POST octet-stream: N×784 raw pixels, gzip'd without Content-Encoding (sniffed), output=label", async () => {
    await withServedWeights(DEFAULT_MODEL, async (model) => {
      const N = 100;
      const pixels = sampleImages(N);
      const res = await fetch(`${dev.url}/v1/predict?output=label`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: gzipSync(pixels),
      });
      const body = (await res.json()) as { model: string; labels: number[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const want = argmax(model.network.forwardPixels(pixels, N, model.inputScale, { softmax: false }), model.labels.length);
      expect(body).toEqual({ model: DEFAULT_MODEL, labels: Array.from(want) });
    });
  });

  for (const name of MODELS) {
    const ds = datasetOf(name);
    const present = datasetPresent(ds, "test");
    it.skipIf(skipWithoutData(present))(
      `${name}: the 10000 ${ds} test images as one IDX body, plain and gzip'd, score exactly as evaluate() (${needs(ds)})`,
      async () => {
        const split = testSplit(ds);
        const idx = encodeIdxImages(split.pixels, split.count);
        const variants: [string, Record<string, string>, Uint8Array][] = [
          ["plain", {}, idx],
          ["gzip", { "Content-Encoding": "gzip" }, new Uint8Array(gzipSync(idx))],
        ];
        await withServedWeights(name, async (model) => {
          const ev = evaluate(model.network, split, model.inputScale, model.labels.length);
          const want = ev.labels;
          for (const [kind, headers, body] of variants) {
            const t0 = performance.now();
            const res = await postOnFreshSocket(`${dev.url}/v1/models/${name}/predict?output=label`, {
              method: "POST",
              headers: { "Content-Type": "application/octet-stream", ...headers },
              body,
            });
            const json = (await res.json()) as { model: string; labels: number[] };
            const ms = performance.now() - t0;
            expect(res.status, `${kind}: ${JSON.stringify(json)}`).toBe(200);
            console.log(
              `wrangler dev: ${split.count} images in ${ms.toFixed(0)} ms (${((ms * 1000) / split.count).toFixed(1)} µs/image) [${name}, ${kind}, ${(body.length / 1e6).toFixed(2)} MB; Server-Timing: ${res.headers.get("server-timing")}]`,
            );
            expect(json.model).toBe(name);
            expect(json.labels).toHaveLength(split.count);
            let correct = 0;
            let mismatches = 0;
            let first = -1;
            json.labels.forEach((l, i) => {
              if (l === split.labels[i]) correct++;
              if (l !== want[i] && mismatches++ === 0) first = i;
            });
            expect(mismatches, `${kind}: ${mismatches} labels differ from Node's, first at image ${first}`).toBe(0);
            expect(correct, `${kind}: served accuracy vs evaluate()`).toBe(ev.correct);
          }
          console.log(`${name} on ${ds}: accuracy=${ev.accuracy.toFixed(4)} correct=${ev.correct} total=${ev.total} (served and evaluate() agree)`);
        });
      },
    );
  }
});
