// The binary tensor data extension's reader and encoder, against a client
// codec written separately from the specification (scripts/lib/oip-codec.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeResponse, encodeRequest, ELEMENT_BYTES, fromHalf, packTensor, toHalf } from "../../scripts/lib/oip-codec";
import { DEFAULT_LABELS, type ModelSpec } from "../model/format";
import { limitsOf } from "../config";
import { type Batch, tensorImages } from "./input";
import {
  binaryInputs,
  binaryOutputs,
  binaryTensorImages,
  checkInferParameters,
  encodeBinaryAnswer,
  halfToNumber,
  type InferHeader,
  type InputHeader,
  jsonAnswer,
  splitBinaryBody,
} from "./oip-binary";
import { ProblemError } from "./problem";
import { OipInferRequest } from "./schemas";

const D = 784;
const model: ModelSpec = {
  sizes: [D, 10],
  activations: ["softmax"],
  labels: DEFAULT_LABELS,
  inputShape: [28, 28],
  inputScale: 255,
  dtype: "F32",
  parameters: D * 10 + 10,
  metadata: {},
};
const limits = limitsOf(undefined);

/** The 400 a call throws: its detail and pointer. */
function refusal(f: () => unknown): { detail: string; pointer?: string; element?: number } {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ProblemError)) throw e;
    expect(e.status).toBe(400);
    return e.problem as { detail: string; pointer?: string; element?: number };
  }
  throw new Error("expected a 400, got none");
}

/** The whole reading of a binary-form body, as the routes do it: split, validate, check, locate, convert. */
function readBinary(body: Uint8Array, headerLength: string): Batch | undefined {
  const { header } = splitBinaryBody(body, headerLength);
  const parsed = OipInferRequest().safeParse(header);
  if (!parsed.success) return undefined; // the validator's own 400
  const request = parsed.data as InferHeader;
  checkInferParameters(request);
  const data = binaryInputs(request.inputs, splitBinaryBody(body, headerLength).tensors);
  const bytes = data[0];
  const input = request.inputs[0];
  return bytes ? binaryTensorImages(input, bytes, model, limits, "/inputs/0") : tensorImages({ ...input, data: input.data ?? [] }, model, limits, "/inputs/0");
}

/** Pixels 0-255, mostly background, deterministic. */
function pixels(n: number): number[] {
  return Array.from({ length: n * D }, (_, i) => (((i * 2654435761) >>> 24) % 4 === 0 ? (i * 7) % 256 : 0));
}

/** The values of each datatype for given pixels: integers as they are, floats in [0, 1] (FP16 as it rounds). */
function valuesFor(datatype: string, px: number[]): number[] {
  if (datatype === "FP16") return px.map((v) => fromHalf(toHalf(v / 255)));
  if (datatype.startsWith("FP")) return px.map((v) => (datatype === "FP32" ? Math.fround(v / 255) : v / 255));
  return datatype === "INT8" ? px.map((v) => Math.min(v, 127)) : px;
}

const NUMERIC = ["FP16", "FP32", "FP64", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"];
const SHAPES = (n: number) => [
  [n, D],
  [n, 28, 28],
  [n, 1, 28, 28],
];

describe("binary-form requests", () => {
  it("should read every datatype and shape form as the JSON path reads the same values", () => {
    const n = 3;
    const px = pixels(n);
    for (const datatype of NUMERIC)
      for (const shape of SHAPES(n)) {
        const values = valuesFor(datatype, px);
        const { body, headerLength } = encodeRequest({ inputs: [{ name: "input", shape, datatype, bytes: packTensor(datatype, values) }] });
        const batch = readBinary(body, String(headerLength)) as Batch;
        const json = tensorImages({ shape, datatype, data: values }, model, limits, "/inputs/0") as { N: number; x: Float32Array };
        expect(batch.N, `${datatype} [${shape}]`).toBe(n);
        if ("x" in batch) expect(batch.x, datatype).toEqual(json.x);
        else {
          // Whole numbers stay bytes; the forward pass divides them by the scale.
          expect(datatype.startsWith("FP"), datatype).toBe(false);
          expect(Array.from(batch.pixels), datatype).toEqual(values);
          expect(batch.scale).toBe(model.inputScale);
          batch.pixels.forEach((v, i) => {
            expect(Math.abs(v / batch.scale - json.x[i])).toBeLessThan(1e-7);
          });
        }
      }
  });

  it("should read inputs at any byte offset (after a JSON header of any length)", () => {
    for (const pad of ["", "a", "ab", "abc", "abcdefg"]) {
      const values = valuesFor("FP64", pixels(1));
      const { body, headerLength } = encodeRequest({
        id: pad,
        inputs: [{ name: "input", shape: [1, D], datatype: "FP64", bytes: packTensor("FP64", values) }],
      });
      const batch = readBinary(body, String(headerLength)) as { x: Float32Array };
      expect(Array.from(batch.x)).toEqual(values.map((v) => Math.fround(v)));
    }
  });

  it("should take a JSON-only request sent with Inference-Header-Content-Length", () => {
    const data = valuesFor("FP32", pixels(1));
    const { body, headerLength } = encodeRequest({ inputs: [{ name: "input", shape: [1, D], datatype: "FP32", data }] });
    expect(headerLength).toBe(body.length);
    expect((readBinary(body, String(headerLength)) as Batch).N).toBe(1);
  });

  it("should split and place several binary and JSON inputs in order", () => {
    const a = packTensor("UINT32", [1, 2, 3, 4]);
    const b = packTensor("BOOL", [1, 0, 1]);
    const { body, headerLength } = encodeRequest({
      inputs: [
        { name: "a", shape: [2, 2], datatype: "UINT32", bytes: a },
        { name: "j", shape: [1], datatype: "FP32", data: [0.5] },
        { name: "b", shape: [3], datatype: "BOOL", bytes: b },
        { name: "s", shape: [2], datatype: "BYTES", bytes: new Uint8Array([1, 0, 0, 0, 120, 0, 0, 0, 0]) },
      ],
    });
    const { header, tensors } = splitBinaryBody(body, String(headerLength));
    const parts = binaryInputs((header as InferHeader).inputs, tensors);
    expect(parts.map((p) => p && Array.from(p))).toEqual([Array.from(a), undefined, Array.from(b), [1, 0, 0, 0, 120, 0, 0, 0, 0]]);
  });

  it("should refuse a bad Inference-Header-Content-Length", () => {
    const { body, headerLength } = encodeRequest({ inputs: [{ name: "input", shape: [1, D], datatype: "UINT8", bytes: new Uint8Array(D) }] });
    for (const bad of ["", "abc", "-1", "1.5", "0x10", "1e3", "99999999999999999999"])
      expect(refusal(() => splitBinaryBody(body, bad)).detail, bad).toMatch(/not a byte count/);
    expect(refusal(() => splitBinaryBody(body, String(body.length + 1))).detail).toMatch(/body holds only/);
    expect(refusal(() => splitBinaryBody(body, "0")).detail).toMatch(/is 0/);
    expect(refusal(() => splitBinaryBody(body, String(headerLength - 1))).detail).toMatch(/not a JSON inference request/);
    expect(refusal(() => splitBinaryBody(body, String(headerLength + 1))).detail).toMatch(/not a JSON inference request/);
    expect(refusal(() => splitBinaryBody(new Uint8Array([0x7b, 0xff, 0x7d]), "3")).detail).toMatch(/not a JSON/);
    expect(splitBinaryBody(body, ` ${headerLength} `).tensors.length).toBe(D);
  });

  it("should refuse sizes that do not add up, or do not match shape × datatype", () => {
    const one = (parameters: Record<string, unknown>, extra: Partial<InputHeader> = {}): InputHeader[] => [
      { name: "input", shape: [1, D], datatype: "UINT8", parameters, ...extra },
    ];
    const bytes = new Uint8Array(D);
    expect(refusal(() => binaryInputs(one({ binary_data_size: D }), bytes.subarray(1))).detail).toMatch(/add up to 784 bytes, but only 783/);
    expect(refusal(() => binaryInputs(one({ binary_data_size: D }), new Uint8Array(D + 5))).detail).toMatch(/^5 bytes follow the last input/);
    expect(refusal(() => binaryInputs(one({}, { data: [0] }), new Uint8Array(3))).detail).toMatch(/^3 bytes follow/);
    const mismatch = refusal(() => binaryInputs(one({ binary_data_size: D }, { datatype: "FP32" }), bytes));
    expect(mismatch.pointer).toBe("/inputs/0/parameters/binary_data_size");
    expect(mismatch.detail).toMatch(/784 × 4 = 3136 bytes/);
    const both = refusal(() => binaryInputs(one({ binary_data_size: D }, { data: [1] }), bytes));
    expect(both.pointer).toBe("/inputs/0/data");
    expect(both.detail).toMatch(/both "data" and parameters.binary_data_size/);
    expect(refusal(() => binaryInputs(one({}), undefined)).detail).toMatch(/has no data/);
    const noHeader = refusal(() => binaryInputs(one({ binary_data_size: D }), undefined));
    expect(noHeader.detail).toMatch(/no Inference-Header-Content-Length/);
    const unknown = refusal(() => binaryInputs(one({ binary_data_size: D }, { datatype: "FP8" }), bytes));
    expect(unknown.pointer).toBe("/inputs/0/datatype");
    for (const size of [-1, 1.5, "784", true, null]) {
      const p = refusal(() => checkInferParameters({ inputs: one({ binary_data_size: size }) }));
      expect(p.pointer, String(size)).toBe("/inputs/0/parameters/binary_data_size");
    }
  });

  it("should refuse bytes that are not the shape's, even when called alone", () => {
    for (const [datatype, length] of [
      ["UINT8", D - 1],
      ["FP32", 4 * D + 4],
      ["INT64", 8 * D - 8],
    ] as const) {
      const p = refusal(() => binaryTensorImages({ name: "input", shape: [1, D], datatype }, new Uint8Array(length), model, limits, "/inputs/0"));
      expect(p.detail, datatype).toMatch(new RegExp(`has ${length} bytes`));
    }
  });

  it("should refuse BOOL and BYTES, which are not pixels", () => {
    for (const datatype of ["BOOL", "BYTES"]) {
      const p = refusal(() => binaryTensorImages({ name: "input", shape: [1, D], datatype }, new Uint8Array(D), model, limits, "/inputs/0"));
      expect(p.pointer).toBe("/inputs/0/datatype");
      expect(p.detail).toMatch(/not supported/);
    }
  });

  it("should refuse shapes that are not a batch of images, and batches over MAX_BATCH", () => {
    const p = refusal(() => binaryTensorImages({ name: "input", shape: [2, 392], datatype: "UINT8" }, new Uint8Array(D), model, limits, "/inputs/0"));
    expect(p.pointer).toBe("/inputs/0/shape");
    try {
      binaryTensorImages({ name: "input", shape: [3, D], datatype: "UINT8" }, new Uint8Array(3 * D), model, { ...limits, maxBatch: 2 }, "/inputs/0");
      throw new Error("expected a 413");
    } catch (e) {
      expect((e as ProblemError).status).toBe(413);
    }
  });

  it("should refuse a bad value naming its element", () => {
    const cases: [string, number | bigint, RegExp][] = [
      ["FP32", Number.NaN, /NaN is not an FP32 pixel value in \[0, 1\]/],
      ["FP32", 1.5, /1\.5 is not/],
      ["FP32", -0.25, /-0\.25/],
      ["FP64", Number.POSITIVE_INFINITY, /Infinity/],
      ["FP16", Number.NaN, /NaN is not an FP16/],
      ["FP16", 2, /2 is not an FP16/],
      ["INT8", -1, /-1 is not a whole number in \[0, 127\]/],
      ["UINT16", 256, /256 is not a whole number in \[0, 255\]/],
      ["INT16", -3, /-3/],
      ["UINT32", 4294967295, /4294967295/],
      ["INT32", -1, /-1/],
      ["UINT64", 2n ** 40n, /1099511627776/],
      ["UINT64", 256, /256/],
      ["INT64", -1, /-1 is not/],
      ["INT64", 2n ** 62n, /4611686018427387904/],
    ];
    for (const [datatype, bad, message] of cases) {
      const values: (number | bigint)[] = new Array(D).fill(0);
      values[417] = bad;
      const p = refusal(() => binaryTensorImages({ name: "input", shape: [1, D], datatype }, packTensor(datatype, values), model, limits, "/inputs/0"));
      expect(p.detail, `${datatype} ${bad}`).toMatch(message);
      expect(p.detail).toMatch(/input "input", element 417 of its binary data/);
      expect(p.element).toBe(417);
      expect(p.pointer).toBe("/inputs/0");
    }
  });

  it("should take -0 and the top of each range", () => {
    for (const [datatype, top] of [
      ["FP32", 1],
      ["FP16", 1],
      ["INT8", 127],
      ["INT64", 255],
      ["UINT64", 255],
    ] as const) {
      const values = new Array(D).fill(datatype.startsWith("FP") ? -0 : 0);
      values[5] = top;
      const b = binaryTensorImages({ name: "input", shape: [1, D], datatype }, packTensor(datatype, values), model, limits, "/inputs/0");
      expect("x" in b ? b.x[5] : b.pixels[5], datatype).toBe(top);
    }
  });
});

describe("parameters", () => {
  it("should take string, number and boolean values", () => {
    checkInferParameters({
      parameters: { a: "x", b: 1.5, c: false, binary_data_output: true },
      inputs: [{ name: "input", shape: [1], datatype: "FP32", parameters: { binary_data_size: 4, note: "n" } }],
      outputs: [{ name: "label", parameters: { binary_data: false, k: 3 } }],
    });
  });

  it("should refuse objects, arrays and null, pointing at the value", () => {
    const input = { name: "input", shape: [1], datatype: "FP32", data: [0] };
    const cases: [InferHeader, string][] = [
      [{ parameters: { a: {} }, inputs: [input] }, "/parameters/a"],
      [{ parameters: { "x/y": [1] }, inputs: [input] }, "/parameters/x~1y"],
      [{ inputs: [{ ...input, parameters: { z: null } }] }, "/inputs/0/parameters/z"],
      [{ inputs: [input], outputs: [{ name: "label" }, { name: "logits", parameters: { q: [] } }] }, "/outputs/1/parameters/q"],
      [{ parameters: { binary_data_output: "true" }, inputs: [input] }, "/parameters/binary_data_output"],
      [{ inputs: [input], outputs: [{ name: "label", parameters: { binary_data: 1 } }] }, "/outputs/0/parameters/binary_data"],
    ];
    for (const [request, pointer] of cases) {
      const p = refusal(() => checkInferParameters(request));
      expect(p.pointer).toBe(pointer);
      expect(p.detail).toMatch(/string, a number or a boolean|true or false/);
    }
  });
});

describe("binary-form answers", () => {
  const probabilities = Float32Array.from({ length: 20 }, (_, i) => i / 20);
  const labels = Int32Array.from([3, -1]);
  const answer = {
    head: { model_name: "m", model_version: "1", id: "7" },
    outputs: [
      { name: "probabilities", shape: [2, 10], datatype: "FP32" as const, data: probabilities },
      { name: "label", shape: [2], datatype: "INT64" as const, data: labels },
    ],
  };

  it("should choose binary outputs by binary_data, else binary_data_output", () => {
    const names = ["probabilities", "label", "logits"];
    expect(binaryOutputs({ inputs: [] }, names)).toEqual([false, false, false]);
    expect(binaryOutputs({ inputs: [], parameters: { binary_data_output: true } }, names)).toEqual([true, true, true]);
    expect(
      binaryOutputs({ inputs: [], parameters: { binary_data_output: true }, outputs: [{ name: "label", parameters: { binary_data: false } }] }, names),
    ).toEqual([true, false, true]);
    expect(binaryOutputs({ inputs: [], outputs: [{ name: "logits", parameters: { binary_data: true } }, { name: "label" }] }, names)).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("should encode binary outputs in order after the JSON, and JSON ones in it", () => {
    for (const binary of [
      [true, true],
      [true, false],
      [false, true],
    ]) {
      const encoded = encodeBinaryAnswer(answer, binary);
      if (!encoded) throw new Error("expected a binary answer");
      const { header, outputs } = decodeResponse(encoded.body, encoded.headerLength);
      expect(header).toMatchObject({ model_name: "m", model_version: "1", id: "7" });
      expect(outputs.map((o) => o.binary)).toEqual(binary);
      expect(outputs[0].values).toEqual(Array.from(probabilities));
      expect(outputs[1].values).toEqual([3, -1]);
      expect(outputs[0].parameters?.binary_data_size).toBe(binary[0] ? 80 : undefined);
      expect(outputs[1].parameters?.binary_data_size).toBe(binary[1] ? 16 : undefined);
      expect(outputs.map((o) => [o.name, o.shape, o.datatype])).toEqual([
        ["probabilities", [2, 10], "FP32"],
        ["label", [2], "INT64"],
      ]);
    }
    expect(encodeBinaryAnswer(answer, [false, false])).toBeUndefined();
    expect(decodeResponse(new TextEncoder().encode(JSON.stringify(jsonAnswer(answer)))).outputs[1].values).toEqual([3, -1]);
  });
});

describe("FP16", () => {
  it("should read every half as the client's codec does", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToNumber(h);
      if (Number.isNaN(v)) expect(Number.isNaN(fromHalf(h))).toBe(true);
      else {
        expect(v).toBe(fromHalf(h));
        expect(toHalf(v)).toBe(h);
      }
    }
  });
});

/** A valid binary-form body of 1-2 images in any datatype and shape form, some inputs JSON. */
const validBody = fc
  .tuple(fc.integer({ min: 1, max: 2 }), fc.constantFrom(...NUMERIC), fc.integer({ min: 0, max: 2 }), fc.boolean(), fc.string({ maxLength: 5 }))
  .map(([n, datatype, form, binaryOut, id]) => {
    const shape = SHAPES(n)[form];
    const values = valuesFor(datatype, pixels(n));
    return encodeRequest({
      id,
      parameters: { binary_data_output: binaryOut },
      inputs: [{ name: "input", shape, datatype, bytes: packTensor(datatype, values) }],
      outputs: [{ name: "label", parameters: { binary_data: !binaryOut } }],
    });
  });

/** Ways to break a body: flip bytes, cut or extend it, change the header length, rewrite the JSON header. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant("length" as const), delta: fc.integer({ min: -20, max: 20 }) }),
  fc.record({
    kind: fc.constant("json" as const),
    path: fc.constantFrom("datatype", "shape", "binary_data_size", "data", "parameters", "name"),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom("FP32", "BOOL", "BYTES", "UINT8", [1, 784], [0, 784], [2, 28, 28], -1, 0, 1.5, 3136, 784 * 8),
    ),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(body: Uint8Array, headerLength: number, m: Mutation) {
  let b = body;
  let n = headerLength;
  switch (m.kind) {
    case "flip":
      b = body.slice();
      b[m.at % b.length] = m.value;
      break;
    case "cut":
      b = body.subarray(0, m.at % b.length);
      break;
    case "extend":
      b = new Uint8Array([...body, ...m.bytes]);
      break;
    case "length":
      n += m.delta;
      break;
    case "json": {
      let header: { inputs?: Record<string, unknown>[] };
      try {
        header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)));
      } catch {
        break; // an earlier mutation broke the JSON: nothing to rewrite
      }
      const input = header?.inputs?.[0] as { parameters: unknown } & Record<string, unknown>;
      if (typeof input !== "object" || input === null || typeof input.parameters !== "object" || input.parameters === null) break;
      if (m.path === "binary_data_size") (input.parameters as Record<string, unknown>).binary_data_size = m.value;
      else if (m.path === "parameters") input.parameters = m.value;
      else input[m.path] = m.value;
      const json = new TextEncoder().encode(JSON.stringify(header));
      b = new Uint8Array([...json, ...body.subarray(headerLength)]);
      n = json.length;
    }
  }
  return { body: b, headerLength: String(n) };
}

describe("mutated binary bodies", () => {
  it("should answer every mutation with the batch or a ProblemError, nothing else", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validBody, fc.array(mutation, { minLength: 1, maxLength: 3 }), (valid, ms) => {
        let { body, headerLength } = { body: valid.body, headerLength: String(valid.headerLength) };
        for (const m of ms) ({ body, headerLength } = mutate(body, Number(headerLength), m));
        try {
          const batch = readBinary(body, headerLength);
          seen.add(batch ? "read" : "invalid");
        } catch (e) {
          if (!(e instanceof ProblemError) || e.status >= 500) throw e;
          seen.add(String(e.status));
        }
      }),
      { numRuns: 1500, seed: 16 },
    );
    // The mutations reach the refusals and still leave some bodies readable.
    expect(seen).toContain("400");
    expect(seen).toContain("read");
  });

  it("should read every unmutated body", () => {
    fc.assert(
      fc.property(validBody, ({ body, headerLength }) => {
        expect(readBinary(body, String(headerLength))?.N).toBeGreaterThan(0);
      }),
      { numRuns: 100, seed: 17 },
    );
  });
});

it("should size every datatype as the client codec does", () => {
  for (const [datatype, size] of Object.entries(ELEMENT_BYTES)) expect(packTensor(datatype, [0, 0]).length).toBe(2 * size);
});
