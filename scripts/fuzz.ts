// npm run fuzz [-- --runs 100000] [-- --seconds 900] [-- --seed 20261129]
//
// Random requests through the app, in process (app.request, no network):
// every route it serves, every content type and encoding, valid and broken
// bodies, under the default limits and under tiny ones (scripts/lib/fuzz.ts);
// one request in ten is an OIP infer in the binary tensor data form
// (scripts/lib/fuzz-binary.ts), counted as its route with "(binary)".
// Seeded, so a failure replays; bounded in time. Prints the counts per status
// and per route; any 5xx, or any 4xx not in the structured error shape, fails
// it (exit 1) with the smallest request fast-check finds that shows it.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { createApp } from "../src/app";
import { DEFAULT_MODEL, MODEL_NAMES } from "../src/model/catalog";
import { ModelRegistry } from "../src/model/registry";
import { command } from "./lib/cli";
import { FUZZ_ENVS, type FuzzRequest, judge, requests, routeTemplates, toInit } from "./lib/fuzz";
import { weightsFile } from "./lib/paths";
import { table } from "./lib/table";

const args = command({
  name: "fuzz",
  usage: [
    "usage: npm run fuzz [-- --runs 100000] [-- --seconds 900] [-- --seed N]",
    "Random requests to every route, in process: JSON, binary, picture and multipart bodies, gzip, OIP infer in",
    'JSON and in the binary tensor data form (counted as "(binary)"); fails on any 5xx or unstructured 4xx.',
  ].join("\n"),
  options: {
    runs: { type: "string", default: "100000" },
    seconds: { type: "string", default: "900" },
    seed: { type: "string", default: "20261129" },
  },
});
const runs = args.integer("runs", { min: 1 });
const seconds = args.number("seconds", { above: 0 });
const seed = args.integer("seed");

// The bundled weights, as the Worker would see them (Data modules are ArrayBuffers).
const files: Record<string, ArrayBuffer> = {};
for (const name of MODEL_NAMES) {
  const b = readFileSync(weightsFile(name));
  files[name] = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
const app = createApp(new ModelRegistry(files, DEFAULT_MODEL));
const templates = routeTemplates(app.routes);

// The default limits (most requests), tiny ones (so 413s are reached), and a bearer token.
const envs = FUZZ_ENVS;

const byStatus = new Map<number, number>();
const byRoute = new Map<string, Map<number, number>>();
let done = 0;
let failing = false;
const started = performance.now();

const property = fc.asyncProperty(requests(templates), fc.nat({ max: envs.length - 1 }), async (req: FuzzRequest, e: number) => {
  const res = await app.request(`http://localhost${req.path}`, toInit(req), envs[e]);
  const failure = await judge(req, res);
  if (!failing) {
    done++;
    byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
    const r = byRoute.get(req.route) ?? new Map<number, number>();
    r.set(res.status, (r.get(res.status) ?? 0) + 1);
    byRoute.set(req.route, r);
    if (done % 10000 === 0) console.error(`fuzz: ${done} requests, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  if (failure) {
    failing = true;
    throw new Error(`${req.method} ${req.path} (env ${JSON.stringify(envs[e])}) → ${failure}`);
  }
});

console.error(`fuzz: up to ${runs} requests over ${templates.length} routes, seed ${seed}, at most ${seconds} s`);
const details = await fc.check(property, { numRuns: runs, seed, plugins: [fc.interruptAfterTimeLimit(seconds * 1000)] });
const elapsed = (performance.now() - started) / 1000;

const statuses = [...byStatus.keys()].sort((a, b) => a - b);
console.log(
  table(
    ["status", "count"],
    statuses.map((s) => [s, byStatus.get(s) ?? 0]),
  ),
);
console.log(
  table(
    ["route", "requests", ...statuses.map(String)],
    [...byRoute]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, m]) => [route, [...m.values()].reduce((a, b) => a + b, 0), ...statuses.map((s) => m.get(s) ?? "")]),
  ),
);
console.log(`${done} requests in ${elapsed.toFixed(1)} s (${(done / elapsed).toFixed(0)} req/s), seed ${seed}`);

if (details.failed) {
  console.error(await fc.asyncDefaultReportMessage(details));
  console.error(String(details.errorInstance));
  console.error(`fuzz: FAILED; replay with --seed ${seed}`);
  process.exit(1);
}
if (details.interrupted) console.error(`fuzz: stopped at the ${seconds} s bound after ${done} of ${runs} requests; raise --seconds for the full run`);
console.log("fuzz: no 5xx, every error structured");
