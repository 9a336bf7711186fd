// Random requests against the app, shared by `npm run fuzz` (scripts/fuzz.ts,
// in Node, 100000+ requests) and the quick seeded run of `npm test`
// (test/worker/fuzz.test.ts, in workerd). Every route the app serves, every
// content type and encoding, valid and broken bodies; judge() says whether an
// answer keeps the service's promises: never a 5xx, and every 4xx in the
// shape its clients read. Pure fast-check and fflate: runs in Node and workerd.
import fc from "fast-check";
import { gzipSync } from "fflate";
import type { Bindings } from "../../src/http/env";
import { MODEL_NAMES } from "../../src/model/catalog";
import { binaryInferRequests } from "./fuzz-binary";

export interface FuzzRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** The route template it came from, for counting, e.g. "/v1/models/:model/predict". */
  route: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** The app's routes as Hono lists them (`app.routes`). */
export interface RouteLike {
  method: string;
  path: string;
}

const D = 784;

/** Route templates of the app, each method once; the catch-all middleware paths are dropped. */
export function routeTemplates(routes: readonly RouteLike[]): RouteLike[] {
  const seen = new Set<string>();
  return routes.filter((r) => {
    const key = `${r.method} ${r.path}`;
    if (r.method === "ALL" || r.path.includes("*") || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const pathParam = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...MODEL_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom("nope", "1", "2", "0", "MNIST-MLP", "%2e%2e", "a%20b") },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.nat({ max: 3000 }).map((n) => "m".repeat(n + 1)) },
);

const version = fc.oneof({ weight: 4, arbitrary: fc.constant("1") }, { weight: 1, arbitrary: fc.constantFrom("2", "0", "", "v1", "01") });

/** A concrete path for a template: model names (real and not), versions, trailing slashes, queries. */
function concretePath(template: string, clean: boolean): fc.Arbitrary<string> {
  const params = template.match(/:[A-Za-z]+/g) ?? [];
  const valid = template.startsWith("/v1/predict") || template.includes(":model/predict");
  return fc
    .tuple(
      fc.tuple(...params.map((p) => (p === ":version" ? (clean ? fc.constant("1") : version) : clean ? fc.constantFrom(...MODEL_NAMES) : pathParam))),
      clean ? fc.constant("") : fc.constantFrom("", "", "", "/"),
      clean
        ? fc.constantFrom("", ...(valid ? ["?output=label", "?output=logits", "?top_k=1"] : []))
        : fc.constantFrom("", "", "", "?output=label", "?output=logits", "?top_k=1", "?top_k=-1", "?output=nope", "?top_k=abc", "?top_k=99999999999999999999"),
    )
    .map(([values, slash, query]) => {
      let i = 0;
      return template.replace(/:[A-Za-z]+/g, () => values[i++]) + slash + query;
    });
}

const pixel = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -300, max: 300 }) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 3 }), fc.constant(null), fc.boolean(), fc.constant({})) },
);
/** A JSON image: right-sized and valid, right-sized with random values, 28×28, ragged, or not an image at all. */
const image = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: D, maxLength: D }),
  fc.array(pixel, { minLength: D, maxLength: D }),
  fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 28, maxLength: 28 }), { minLength: 28, maxLength: 28 }),
  fc.array(pixel, { maxLength: 800 }),
  fc.array(fc.array(pixel, { maxLength: 30 }), { maxLength: 30 }),
  pixel,
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(null));

const validImage = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: D, maxLength: D }),
  fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 28, maxLength: 28 }), { minLength: 28, maxLength: 28 }),
);
const validOptions = { output: fc.constantFrom("label", "logits", "probabilities"), top_k: fc.integer({ min: 1, max: 10 }) };

const nativeBody = fc.oneof(
  fc.record({ input: validImage, ...validOptions }, { requiredKeys: ["input"] }),
  fc.record({ inputs: fc.array(validImage, { minLength: 1, maxLength: 3 }), ...validOptions }, { requiredKeys: ["inputs"] }),
  fc.record(
    {
      input: image,
      scale: fc.oneof(fc.double(), fc.constant(255), fc.constant(1)),
      top_k: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.integer(), fc.double()),
      output: fc.constantFrom("label", "logits", "probabilities", "x"),
    },
    { requiredKeys: [] },
  ),
  fc.record({ inputs: fc.array(image, { maxLength: 3 }), output: fc.constantFrom("label", "logits", "probabilities") }, { requiredKeys: [] }),
);

/** A well-formed OIP request: one FP32 or UINT8 tensor of N images, flat or nested, some outputs. */
const validOip = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.constantFrom("flat", "rows", "images")).chain(([n, uint8, layout]) =>
  fc.record(
    {
      id: fc.string({ maxLength: 12 }),
      inputs: fc
        .array(uint8 ? fc.integer({ min: 0, max: 255 }) : fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n * D, maxLength: n * D })
        .map((data) => [
          {
            name: "input",
            datatype: uint8 ? "UINT8" : "FP32",
            shape: layout === "flat" ? [n, D] : [n, 28, 28],
            data:
              layout === "flat"
                ? data
                : Array.from({ length: n }, (_, i) => Array.from({ length: 28 }, (_, r) => data.slice(i * D + r * 28, i * D + r * 28 + 28))),
          },
        ]),
      outputs: fc.subarray([{ name: "label" }, { name: "probabilities" }, { name: "logits" }]),
    },
    { requiredKeys: ["inputs"] },
  ),
);

const tensor = fc.record(
  {
    name: fc.constantFrom("input", "x", ""),
    shape: fc.oneof(
      fc.constantFrom([1, D], [2, D], [1, 28, 28], [1, 1, 28, 28], [D], [0, D], [-1, D]),
      fc.array(fc.integer({ min: -2, max: 800 }), { maxLength: 4 }),
    ),
    datatype: fc.constantFrom("FP32", "FP64", "FP16", "UINT8", "INT8", "INT16", "INT32", "INT64", "UINT16", "UINT32", "UINT64", "BOOL", "BYTES", "x"),
    parameters: nullable(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })),
    data: fc.oneof(image, fc.array(image, { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const oipBody = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)),
    parameters: nullable(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })),
    inputs: fc.array(tensor, { maxLength: 2 }),
    outputs: nullable(fc.array(fc.record({ name: fc.constantFrom("label", "probabilities", "logits", "nope", "string") }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

interface Payload {
  bytes: Uint8Array;
  /** The Content-Type a client would send with it. */
  type: string;
}
const asJson = (b: unknown): Payload => ({ bytes: utf8(JSON.stringify(b) ?? ""), type: "application/json" });
const asBinary = (bytes: Uint8Array): Payload => ({ bytes, type: "application/octet-stream" });

/** A request body: JSON of either API, random JSON, pixels, an IDX3 file, or noise. */
const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 3, arbitrary: nativeBody.map(asJson) },
  { weight: 2, arbitrary: validOip.map(asJson) },
  { weight: 2, arbitrary: oipBody.map(asJson) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(asJson) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }).map((s) => ({ bytes: utf8(s), type: "text/plain" })) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: 3 })
      .chain((n) => fc.uint8Array({ minLength: n * D, maxLength: n * D }))
      .map(asBinary),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 2 }).chain((n) => fc.uint8Array({ minLength: n * D, maxLength: n * D }).map((px) => asBinary(idx3(px, n)))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3200 }).map(asBinary) },
);

/** How the body is sent: as it is, gzipped (one or two members), declared but broken, or another coding. */
const encoding = fc.constantFrom(
  "none",
  "none",
  "none",
  "none",
  "none",
  "none",
  "gzip",
  "gzip",
  "gzip-2",
  "gzip-undeclared",
  "gzip-truncated",
  "gzip-raw",
  "identity",
  "br",
  "deflate",
  "GZIP",
);

function encode(body: Uint8Array, how: string): { body: Uint8Array; header?: string } {
  switch (how) {
    case "gzip":
      return { body: gzipSync(body), header: "gzip" };
    case "GZIP":
      return { body: gzipSync(body), header: "GZIP" };
    case "gzip-2": {
      // RFC 1952: a gzip file may hold several members, concatenated.
      const half = body.length >> 1;
      return { body: concat(gzipSync(body.subarray(0, half)), gzipSync(body.subarray(half))), header: "gzip" };
    }
    case "gzip-undeclared":
      return { body: gzipSync(body) };
    case "gzip-truncated": {
      const z = gzipSync(body);
      return { body: z.subarray(0, Math.max(2, z.length - 9)), header: "gzip" };
    }
    case "gzip-raw":
      return { body, header: "gzip" };
    case "none":
      return { body };
    default:
      return { body, header: how };
  }
}

/** Any Content-Type, or none; "natural" is the one that goes with the body. */
const contentType = fc.constantFrom(
  "natural",
  "natural",
  "natural",
  "natural",
  "natural",
  "natural",
  undefined,
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "application/octet-stream",
  "application/octet-stream",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "image/png",
  "image/jpeg",
  "multipart/form-data; boundary=x",
  "application/problem+json",
  "application/vnd.api+json",
  "x/y",
  "",
);

const extraHeaders = fc.record(
  {
    authorization: fc.constantFrom("Bearer secret-token", "Bearer wrong", "Basic abc", "Bearer", ""),
    "inference-header-content-length": fc.constantFrom("0", "100"),
    origin: fc.constantFrom("https://example.com", "null"),
    "x-request-id": fc.string({ maxLength: 20 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
  },
  { requiredKeys: [] },
);

/**
 * Requests for the given route templates: mostly their own method with a
 * body, sometimes another method, HEAD or OPTIONS; plus unknown paths.
 */
export function requests(templates: readonly RouteLike[]): fc.Arbitrary<FuzzRequest> {
  // Half the requests are what a careful client sends (the route's method,
  // a real model, the body's own Content-Type, plain or gzipped), so the
  // successful paths are exercised as much as the refusals.
  const onRoute = fc.tuple(fc.constantFrom(...templates), fc.boolean()).chain(([t, clean]) =>
    fc.record({
      t: fc.constant(t),
      path: concretePath(t.path, clean),
      method: clean
        ? fc.constant(t.method)
        : fc.oneof(
            { weight: 8, arbitrary: fc.constant(t.method) },
            { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH") },
          ),
      payload: t.method === "POST" && clean ? payload : fc.option(payload, { freq: 8 }),
      encoding: clean ? fc.constantFrom("none", "none", "gzip", "gzip-2") : encoding,
      contentType: clean ? fc.constant("natural") : contentType,
      extra: clean ? fc.constant({}) : extraHeaders,
    }),
  );
  const offRoute = fc.record({
    t: fc.constant({ method: "*", path: "(unknown)" }),
    path: fc.oneof(fc.constantFrom("/", "/v1", "/v2/", "/v3/models", "/v1/models/", "/docs/", "/openapi.json/"), fc.webPath()),
    method: fc.constantFrom("GET", "POST"),
    payload: fc.option(payload, { freq: 2 }),
    encoding,
    contentType,
    extra: extraHeaders,
  });
  const any = fc
    .oneof({ weight: 19, arbitrary: onRoute }, { weight: 1, arbitrary: offRoute })
    .map(({ t, path, method, payload, encoding: how, contentType: type, extra }): FuzzRequest => {
      const headers: Record<string, string> = { ...extra };
      const hasBody = payload !== null && method !== "GET" && method !== "HEAD";
      let body: Uint8Array | undefined;
      if (hasBody) {
        const enc = encode(payload.bytes, how);
        body = enc.body;
        if (enc.header !== undefined) headers["content-encoding"] = enc.header;
      }
      if (type === "natural") {
        if (payload !== null) headers["content-type"] = payload.type;
      } else if (type !== undefined) headers["content-type"] = type;
      if (method === "OPTIONS") headers["access-control-request-method"] = "POST";
      return { method, path: path.startsWith("/") ? path : `/${path}`, route: `${t.method} ${t.path}`, headers, body };
    });
  // The binary form of the /v2 infer routes (scripts/lib/fuzz-binary.ts), when the app serves them.
  const binary = templates.some((t) => t.path.endsWith("/infer") && t.path.startsWith("/v2/"));
  return binary ? fc.oneof({ weight: 9, arbitrary: any }, { weight: 1, arbitrary: binaryInferRequests() }) : any;
}

/**
 * Whether an answer keeps the service's promises: never a 5xx; a 4xx is a
 * structured error: problem+json with matching status and a detail, except on
 * /v2, where it is the Open Inference Protocol's application/json `{"error": "..."}`.
 * Returns why the answer breaks a promise, or undefined when it keeps them.
 */
export async function judge(req: FuzzRequest, res: Response): Promise<string | undefined> {
  const text = req.method === "HEAD" ? "" : await res.text();
  const excerpt = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  if (res.status >= 500) return `${res.status} ${excerpt}`;
  if (res.status < 400 || req.method === "HEAD") return undefined;
  const type = res.headers.get("content-type") ?? "";
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `${res.status} with a body that is not JSON (${type}): ${excerpt}`;
  }
  if (/^\/v2(\/|$|\?)/.test(req.path)) {
    const isOip = /^application\/json(;|$)/.test(type) && typeof body.error === "string" && body.error.length > 0;
    return isOip ? undefined : `${res.status} on /v2 is not application/json {"error": "..."} (${type}): ${excerpt}`;
  }
  const isProblem = /^application\/problem\+json(;|$)/.test(type) && body.status === res.status && typeof body.detail === "string";
  return isProblem ? undefined : `${res.status} is not application/problem+json with status and detail (${type}): ${excerpt}`;
}

/** The configurations every fuzz run draws from: defaults (most often), tiny limits, a token. */
export const FUZZ_ENVS: Bindings[] = [{}, {}, {}, { MAX_BATCH: "2", MAX_BODY_BYTES: "4096" }, { API_TOKEN: "secret-token" }];

/** A Request for app.request / fetch. */
export function toInit(req: FuzzRequest): RequestInit {
  return { method: req.method, headers: req.headers, body: req.body };
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** An IDX3 image file: magic 2051, count, 28, 28, then the pixels. */
function idx3(pixels: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(16 + pixels.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2051);
  dv.setUint32(4, n);
  dv.setUint32(8, 28);
  dv.setUint32(12, 28);
  out.set(pixels, 16);
  return out;
}
