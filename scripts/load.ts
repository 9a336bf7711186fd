// npm run load [-- --duration 30] [-- --connections 64]
//
// Load test of the Worker under a local `wrangler dev` (workerd), loopback
// only. autocannon drives three kinds of request at once, sharing the
// connections (half, a quarter, a quarter):
//   single   POST /v1/predict {"input": [784 pixels], "scale": 255}
//   batch    POST /v1/models/<default model>/predict?output=label, 100×784 uint8 pixels
//   invalid  malformed JSON, wrong lengths, unknown models, 415s and 405s, each
//            expecting its own 4xx
// Images are MNIST test images when ../shared/data/mnist (MNIST_DIR) is
// there, else synthetic. Every 4th answer of each connection is checked: its
// labels against a forward pass here, in Node, over the same weights, and an
// invalid request's status against the one expected. Prints req/s, p50/p99
// per kind and the counts per status; any 5xx, socket error, timeout, wrong
// label or wrong status fails it (exit 1).
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { DEFAULT_MODEL } from "../src/model/catalog";
import { decodeModel } from "../src/model/format";
import { argmax } from "../src/nn/functions";
import { datasetPresent, loadSplit, MNIST_DIR } from "../test/fixtures/datasets";
import { imageBytes } from "../test/fixtures/images";
import { command } from "./lib/cli";
import { weightsFile } from "./lib/paths";
import { table } from "./lib/table";
import { startWranglerDev, type WranglerDev } from "./lib/wrangler-dev";

const args = command({
  name: "load",
  usage: "usage: npm run load [-- --duration 30] [-- --connections 64]",
  options: { duration: { type: "string", default: "30" }, connections: { type: "string", default: "64" } },
});
const duration = args.number("duration", { min: 1, max: 600 });
const connections = args.integer("connections", { min: 4, max: 512 });

const D = 784;
const IMAGES = 1000;
const BATCH = 100;
const SAMPLE = 4;

const real = datasetPresent("mnist", "test");
const pixels = real ? loadSplit("mnist", "test").pixels.slice(0, IMAGES * D) : imageBytes(IMAGES, 12345);

// The expected labels: the served model's forward pass, here, with the input
// scaled exactly as the service scales each kind of body.
const model = decodeModel(new Uint8Array(readFileSync(weightsFile(DEFAULT_MODEL))));
const C = model.labels.length;
const k = 255 / model.inputScale;
const xJson = Float32Array.from(pixels, (p) => (p / 255) * k);
const xBinary = Float32Array.from(pixels, (p) => p * (1 / model.inputScale));
const expectJson = Array.from(argmax(model.network.forward(xJson, IMAGES, { softmax: false }), C));
const expectBinary = Array.from(argmax(model.network.forward(xBinary, IMAGES, { softmax: false }), C));

const singleBodies = Array.from({ length: IMAGES }, (_, i) => JSON.stringify({ input: Array.from(pixels.subarray(i * D, (i + 1) * D)), scale: 255 }));
const batchBodies = Array.from({ length: IMAGES / BATCH }, (_, b) => Buffer.from(pixels.subarray(b * BATCH * D, (b + 1) * BATCH * D)));

interface Invalid {
  method: "GET" | "POST" | "PUT";
  path: string;
  headers: Record<string, string>;
  body?: string;
  status: number;
}
const json = { "content-type": "application/json" };
const invalid: Invalid[] = [
  { method: "POST", path: "/v1/predict", headers: json, body: '{"input": [1, 2', status: 400 },
  { method: "POST", path: "/v1/predict", headers: json, body: JSON.stringify({ input: [0.5, 0.5, 0.5] }), status: 400 },
  { method: "POST", path: "/v1/predict", headers: json, body: JSON.stringify({ input: Array(D).fill("x") }), status: 400 },
  { method: "POST", path: "/v1/models/nope/predict", headers: json, body: JSON.stringify({ input: Array(D).fill(0) }), status: 404 },
  { method: "POST", path: "/v1/predict", headers: { "content-type": "image/gif" }, body: "GIF89a", status: 415 },
  { method: "PUT", path: "/v1/predict", headers: json, body: "{}", status: 405 },
  { method: "POST", path: "/v1/predict", headers: { "content-type": "application/octet-stream" }, body: "123", status: 400 },
];

interface Kind {
  name: string;
  connections: number;
  /** The request for a connection's n-th call. */
  request: (n: number) => { method: string; path: string; headers: Record<string, string>; body: string | Buffer };
  /** Why the answer to the n-th call is wrong, if it is. */
  check: (n: number, status: number, body: string) => string | undefined;
}

const kinds: Kind[] = [
  {
    name: "single",
    connections: Math.round(connections / 2),
    request: (n) => ({ method: "POST", path: "/v1/predict", headers: json, body: singleBodies[n % IMAGES] }),
    check: (n, status, body) => {
      if (status !== 200) return `status ${status}: ${body.slice(0, 200)}`;
      const got = (JSON.parse(body) as { label: number }).label;
      return got === expectJson[n % IMAGES] ? undefined : `image ${n % IMAGES}: label ${got}, expected ${expectJson[n % IMAGES]}`;
    },
  },
  {
    name: "batch",
    connections: Math.round(connections / 4),
    request: (n) => ({
      method: "POST",
      path: `/v1/models/${DEFAULT_MODEL}/predict?output=label`,
      headers: { "content-type": "application/octet-stream" },
      body: batchBodies[n % batchBodies.length],
    }),
    check: (n, status, body) => {
      if (status !== 200) return `status ${status}: ${body.slice(0, 200)}`;
      const b = n % batchBodies.length;
      const got = (JSON.parse(body) as { labels: number[] }).labels;
      const want = expectBinary.slice(b * BATCH, (b + 1) * BATCH);
      const i = want.findIndex((l, j) => got[j] !== l);
      return got.length === BATCH && i < 0 ? undefined : `batch ${b}: image ${b * BATCH + i} labelled ${got[i]}, expected ${want[i]} (${got.length} labels)`;
    },
  },
  {
    name: "invalid",
    connections: connections - Math.round(connections / 2) - Math.round(connections / 4),
    request: (n) => {
      const r = invalid[n % invalid.length];
      return { method: r.method, path: r.path, headers: r.headers, body: r.body ?? "" };
    },
    check: (n, status, body) => {
      const r = invalid[n % invalid.length];
      if (status !== r.status) return `${r.method} ${r.path}: status ${status}, expected ${r.status}: ${body.slice(0, 200)}`;
      return /"detail"/.test(body) ? undefined : `${r.method} ${r.path}: ${status} without a problem body: ${body.slice(0, 200)}`;
    },
  },
];

/** Which call a connection has in flight: autocannon keeps a context per connection, reset before each call is set up. */
type Ctx = { sent?: number };

async function run(dev: WranglerDev, kind: Kind, failures: string[]) {
  let checked = 0;
  let calls = 0;
  const result = await autocannon({
    url: dev.url,
    connections: kind.connections,
    duration,
    timeout: 30,
    requests: [
      {
        setupRequest: (req, context) => {
          const ctx = context as Ctx;
          ctx.sent = ++calls;
          return { ...req, ...kind.request(ctx.sent) } as typeof req;
        },
        onResponse: (status, body, context) => {
          const n = (context as Ctx).sent ?? 0;
          if (status >= 500) failures.push(`${kind.name}: ${status}: ${body.slice(0, 200)}`);
          else if (n % SAMPLE === 0) {
            checked++;
            const why = kind.check(n, status, body);
            if (why) failures.push(`${kind.name}: ${why}`);
          }
        },
      },
    ],
  });
  return { kind, result, checked };
}

let dev: WranglerDev | undefined;
const bail = (signal: NodeJS.Signals) => {
  console.error(`load: ${signal}, stopping wrangler dev`);
  void (dev?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once("SIGINT", bail);
process.once("SIGTERM", bail);

try {
  console.log("starting wrangler dev ...");
  dev = await startWranglerDev();
  console.log(`wrangler dev up at ${dev.url}; images: ${real ? `MNIST test set (${MNIST_DIR})` : "synthetic (MNIST absent)"}`);
  // Warm up: the first request decodes the model.
  const warm = await fetch(`${dev.url}/v1/predict`, { method: "POST", headers: json, body: singleBodies[0] });
  if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}: ${(await warm.text()).slice(0, 300)}`);
  await warm.arrayBuffer();
  console.log(`${connections} connections for ${duration} s: ${kinds.map((k) => `${k.name} ${k.connections}`).join(", ")}\n`);

  const failures: string[] = [];
  const d = dev;
  const results = await Promise.all(kinds.map((kind) => run(d, kind, failures)));

  const statuses = new Map<string, number>();
  let total = 0;
  let errors = 0;
  let timeouts = 0;
  const rows = results.map(({ kind, result: r, checked }) => {
    for (const [s, { count = 0 } = {}] of Object.entries(r.statusCodeStats ?? {})) statuses.set(s, (statuses.get(s) ?? 0) + count);
    total += r.requests.total;
    errors += r.errors;
    timeouts += r.timeouts;
    return [kind.name, kind.connections, r.requests.total, r.requests.average.toFixed(1), r.latency.p50, r.latency.p99, checked, r.errors, r.timeouts];
  });
  console.log(table(["kind", "connections", "requests", "req/s", "p50 ms", "p99 ms", "checked", "errors", "timeouts"], rows));
  console.log(
    table(
      ["status", "count"],
      [...statuses].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => [s, n]),
    ),
  );
  console.log(`${total} requests in ${duration} s: ${(total / duration).toFixed(1)} req/s over ${connections} connections`);

  for (const [s, n] of statuses) if (Number(s) >= 500) failures.push(`${n} answers with status ${s}`);
  if (errors || timeouts) failures.push(`${errors} socket errors, ${timeouts} timeouts`);
  if (failures.length) {
    console.error(`load: FAILED (${failures.length}):\n  ${failures.slice(0, 20).join("\n  ")}`);
    process.exitCode = 1;
  } else console.log("load: no 5xx, no socket errors, every sampled label and status as expected");
} catch (e) {
  console.error(`load: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await dev?.stop();
}
