// Random binary-form inference requests (the Open Inference Protocol's binary
// tensor data extension) for the fuzzer: valid bodies of every datatype and
// shape form, built by the client codec (scripts/lib/oip-codec.ts), then
// often broken: bytes flipped, cut or added, the header length off, the JSON
// header rewritten, gzip'd. judge() (scripts/lib/fuzz.ts) holds the answers
// to the same promises: never a 5xx, every 4xx the protocol's {"error"}.
// Pure fast-check and fflate: runs in Node and workerd.
import fc from "fast-check";
import { gzipSync } from "fflate";
import type { FuzzRequest } from "./fuzz";
import { type ClientInput, encodeRequest, packTensor } from "./oip-codec";

const D = 784;
const MODELS = ["mnist-mlp", "mnist-book", "fashion-mlp"];
const DATATYPES = ["FP16", "FP32", "FP64", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "BOOL", "BYTES"] as const;

/** One value of a datatype: mostly a valid pixel, sometimes out of range or not a number. */
function value(datatype: string): fc.Arbitrary<number | bigint> {
  if (datatype.startsWith("FP"))
    return fc.oneof(
      { weight: 40, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0.5, 1.5, 65504) },
    );
  if (datatype.endsWith("64"))
    return fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.constantFrom(256, 2n ** 40n, 2n ** 62n) });
  const top = datatype === "INT8" ? 127 : 255;
  return fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 0, max: top }) }, { weight: 1, arbitrary: fc.constantFrom(top + 1, top === 127 ? -1 : 256) });
}

/** Values for n images: a random few, the rest 0, so bodies stay quick to build. */
function tensor(datatype: string, n: number): fc.Arbitrary<(number | bigint)[]> {
  const size = n * D;
  return fc.array(fc.tuple(fc.nat({ max: size - 1 }), value(datatype)), { maxLength: 12 }).map((set) => {
    const values: (number | bigint)[] = new Array(size).fill(0);
    for (const [i, v] of set) values[i] = v;
    return values;
  });
}

const outputs = fc.option(
  fc.subarray([{ name: "probabilities", parameters: { binary_data: true } }, { name: "label", parameters: { binary_data: false } }, { name: "logits" }]),
  { nil: undefined },
);

/** A well-formed binary-form request: one input (binary, sometimes JSON), some outputs, binary or not. */
const validRequest = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(...DATATYPES), fc.constantFrom([D], [28, 28], [1, 28, 28]), fc.boolean())
  .chain(([n, datatype, image, binaryOut]) =>
    fc.record({
      id: fc.string({ maxLength: 8 }),
      parameters: fc.constant({ binary_data_output: binaryOut }),
      inputs: (datatype === "BOOL" || datatype === "BYTES" ? fc.constant([0]) : tensor(datatype, n)).map((values): ClientInput[] => [
        {
          name: "input",
          shape: [n, ...image],
          datatype,
          bytes: datatype === "BYTES" ? new Uint8Array(n * D * 5) : packTensor(datatype, datatype === "BOOL" ? new Array(n * D).fill(0) : values),
        },
      ]),
      outputs,
    }),
  )
  .map((r) => encodeRequest(r.outputs === undefined ? { ...r, outputs: undefined } : r));

/** How a body is broken, if at all. */
const mutation = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("length" as const),
      header: fc.oneof(fc.integer({ min: -40, max: 40 }).map(String), fc.constantFrom("", "abc", "-1", "1e3", "0", "99999999999")),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("json" as const),
      field: fc.constantFrom("datatype", "shape", "binary_data_size", "data", "parameters", "inputs", "outputs", "binary_data_output"),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom("FP32", "UINT8", "BOOL", "BYTES", [1, D], [0, D], [2, 28, 28], -1, 0, 1.5, D, 4 * D, "784", true, null),
      ),
    }),
  },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(body: Uint8Array, headerLength: number, m: Mutation): { body: Uint8Array; header: string } {
  switch (m.kind) {
    case "flip": {
      const b = body.slice();
      b[m.at % b.length] = m.value;
      return { body: b, header: String(headerLength) };
    }
    case "cut":
      return { body: body.subarray(0, m.at % (body.length + 1)), header: String(headerLength) };
    case "extend":
      return { body: new Uint8Array([...body, ...m.bytes]), header: String(headerLength) };
    case "length":
      return { body, header: /^-?\d+$/.test(m.header) && m.header.length < 3 ? String(headerLength + Number(m.header)) : m.header };
    case "json": {
      const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength))) as Record<string, unknown> & {
        inputs: Record<string, unknown>[];
        parameters: Record<string, unknown>;
      };
      const input = header.inputs[0];
      if (m.field === "inputs" || m.field === "outputs") (header as Record<string, unknown>)[m.field] = m.value;
      else if (m.field === "binary_data_output") header.parameters.binary_data_output = m.value;
      else if (m.field === "binary_data_size") (input.parameters as Record<string, unknown>).binary_data_size = m.value;
      else input[m.field] = m.value;
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(json.length + body.length - headerLength);
      out.set(json);
      out.set(body.subarray(headerLength), json.length);
      return { body: out, header: String(json.length) };
    }
    default:
      return { body, header: String(headerLength) };
  }
}

/**
 * Binary-form inference requests to the /v2 infer routes: valid ones of
 * every datatype and shape form, and broken ones, plain or gzip'd.
 * @example
 * // In requests() of scripts/lib/fuzz.ts, beside the other generators:
 * fc.oneof({ weight: 19, arbitrary: onRoute }, { weight: 1, arbitrary: offRoute }, { weight: 3, arbitrary: binaryInferRequests() })
 */
export function binaryInferRequests(): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      request: validRequest,
      mutation,
      model: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...MODELS) }, { weight: 1, arbitrary: fc.constant("nope") }),
      versioned: fc.boolean(),
      gzip: fc.constantFrom("none", "none", "none", "gzip", "gzip-corrupt"),
      contentType: fc.constantFrom("application/octet-stream", "application/octet-stream", undefined, "application/json"),
    })
    .map(({ request, mutation: m, model, versioned, gzip, contentType }) => {
      const broken = mutate(request.body, request.headerLength, m);
      const headers: Record<string, string> = { "inference-header-content-length": broken.header };
      if (contentType) headers["content-type"] = contentType;
      let body = broken.body;
      if (gzip !== "none") {
        const z = gzipSync(body);
        body = gzip === "gzip" ? z : z.subarray(0, Math.max(2, z.length - 5));
        headers["content-encoding"] = "gzip";
      }
      const path = `/v2/models/${model}${versioned ? "/versions/1" : ""}/infer`;
      return { method: "POST", path, route: `POST /v2/models/:model${versioned ? "/versions/:version" : ""}/infer (binary)`, headers, body };
    });
}
