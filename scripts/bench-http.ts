// npx tsx scripts/bench-http.ts [--duration 10] [--connections 8]
//
// HTTP load benchmark of the Worker under a local `wrangler dev` (workerd),
// loopback only: autocannon drives each scenario for --duration seconds with
// --connections concurrent connections, then wrangler is stopped.
//   predict-json-1       POST /v1/predict {"input": [784 values in 0..1]}
//   predict-json-100     POST /v1/predict {"inputs": [100 images]}
//   predict-binary-1000  POST /v1/predict?output=label, 1000×784 uint8 pixels
//   healthz              GET /healthz (the floor: routing and middleware only)
// Images are real MNIST test images when ../shared/data/mnist (MNIST_DIR) is
// there, else synthetic. µs/image is throughput-based: 1e6 / (req/s × images
// per request), all connections together. Figures from wrangler dev on a dev
// machine are for comparing changes, not a promise about production.
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { rng } from "../src/nn/random";
import { datasetPresent, loadSplit, MNIST_DIR } from "./lib/datasets";
import { table } from "./lib/table";
import { startWranglerDev, type WranglerDev } from "./lib/wrangler-dev";

const usage = "usage: npx tsx scripts/bench-http.ts [--duration 10] [--connections 8]";
function die(msg: string): never {
  console.error(`bench-http: ${msg}\n${usage}`);
  process.exit(2);
}

const { values: v } = parseArgs({
  options: { duration: { type: "string", default: "10" }, connections: { type: "string", default: "8" }, help: { type: "boolean", short: "h" } },
});
if (v.help) {
  console.log(usage);
  process.exit(0);
}
const duration = Number(v.duration);
const connections = Number(v.connections);
if (!(Number.isFinite(duration) && duration >= 1 && duration <= 300)) die(`--duration must be 1..300 seconds, got "${v.duration}"`);
if (!(Number.isInteger(connections) && connections >= 1 && connections <= 256)) die(`--connections must be an integer 1..256, got "${v.connections}"`);

const D = 784;
const real = datasetPresent("mnist", "test");
function images(n: number): Uint8Array {
  if (real) return loadSplit("mnist", "test").pixels.slice(0, n * D);
  const r = rng(12345);
  return new Uint8Array(n * D).map(() => {
    const u = r();
    return u < 0.8 ? 0 : Math.floor(((u - 0.8) / 0.2) * 256);
  });
}
const pixels = images(1000);
const jsonImage = (n: number) => Array.from(pixels.subarray(n * D, (n + 1) * D), (p) => p / 255);

interface Scenario {
  name: string;
  path: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string | Buffer;
  images: number;
}

const json = { "Content-Type": "application/json" };
const scenarios: Scenario[] = [
  { name: "predict-json-1", path: "/v1/predict", method: "POST", headers: json, body: JSON.stringify({ input: jsonImage(0) }), images: 1 },
  {
    name: "predict-json-100",
    path: "/v1/predict",
    method: "POST",
    headers: json,
    body: JSON.stringify({ inputs: Array.from({ length: 100 }, (_, n) => jsonImage(n)) }),
    images: 100,
  },
  {
    name: "predict-binary-1000",
    path: "/v1/predict?output=label",
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: Buffer.from(pixels),
    images: 1000,
  },
  { name: "healthz", path: "/healthz", method: "GET", images: 0 },
];

function size(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`;
}

let dev: WranglerDev | undefined;
const bail = (signal: NodeJS.Signals) => {
  console.error(`bench-http: ${signal}, stopping wrangler dev`);
  void (dev?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once("SIGINT", bail);
process.once("SIGTERM", bail);

try {
  console.log(`starting wrangler dev ...`);
  const t0 = performance.now();
  dev = await startWranglerDev();
  console.log(
    `wrangler dev up at ${dev.url} in ${((performance.now() - t0) / 1000).toFixed(1)} s; images: ${real ? `MNIST test set (${MNIST_DIR})` : "synthetic (MNIST absent)"}`,
  );
  console.log(`${scenarios.length} scenarios × ${duration} s, ${connections} connections, Node ${process.version}\n`);

  const rows: (string | number)[][] = [];
  for (const s of scenarios) {
    const url = `${dev.url}${s.path}`;
    // Warm up (decodes the model) and refuse to benchmark an error.
    const probe = await fetch(url, { method: s.method, headers: s.headers, body: s.body });
    const text = await probe.text();
    if (probe.status !== 200) throw new Error(`${s.name}: ${s.method} ${s.path} answered ${probe.status}: ${text.slice(0, 500)}`);

    const r = await autocannon({ url, method: s.method, headers: s.headers, body: s.body, connections, duration, timeout: 60 });
    const rps = r.requests.average;
    rows.push([
      s.name,
      s.body ? size(s.body.length) : "-",
      s.images || "-",
      rps.toFixed(1),
      r.latency.p50.toFixed(1),
      r.latency.p99.toFixed(1),
      s.images && rps > 0 ? (1e6 / (rps * s.images)).toFixed(1) : "-",
      r.requests.total,
      r.non2xx + r.errors + r.timeouts,
    ]);
    console.log(
      `${s.name}: ${rps.toFixed(1)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms${r.non2xx + r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors (${r.timeouts} timeouts)` : ""}`,
    );
  }
  console.log();
  console.log(table(["scenario", "body", "images/req", "req/s", "p50 ms", "p99 ms", "µs/image", "requests", "non-2xx+errors"], rows));
} catch (e) {
  console.error(`bench-http: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await dev?.stop();
}
