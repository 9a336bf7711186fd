import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { limitsOf } from "../config";
import { type Read, readJson } from "./input";
import { scanPredictJson } from "./json-scan";
import { PredictBody } from "./schemas";
import { TINY_SPEC } from "../../test/helpers";

// 2×2 pictures, 3 classes, bytes / 255 (so values are scaled by 255 / 255 = 1, and by k = 1 in readJson).
const model = TINY_SPEC;
// input_scale 1: each value becomes (v / max) · 255, so rounding differences would show.
const wide = { ...model, inputScale: 1 };
const limits = limitsOf({ MAX_BATCH: "3" });
const bytes = (text: string) => new TextEncoder().encode(text);

/** What JSON.parse, the schema and readJson make of the body (a refusal as undefined). */
function full(text: string, m = model): Read | undefined {
  try {
    const parsed = PredictBody().safeParse(JSON.parse(text));
    return parsed.success ? readJson(parsed.data, m, limits) : undefined;
  } catch {
    return undefined;
  }
}

/** The scanner's read must be exactly the full reader's: the same floats, bit for bit, and the same options. */
function expectSame(text: string, m = model): void {
  const got = scanPredictJson(bytes(text), m, limits);
  const want = full(text, m);
  expect(got, text).toBeDefined();
  expect(got?.single).toBe(want?.single);
  expect(got?.options).toEqual(want?.options);
  expect(got?.batch.N).toBe(want?.batch.N);
  const x = (r?: Read) => {
    if (!r || !("x" in r.batch)) throw new Error("expected a batch of floats");
    return [...new Uint32Array(r.batch.x.slice().buffer)];
  };
  expect(x(got)).toEqual(x(want));
}

describe("scanPredictJson", () => {
  it("should read the common bodies exactly as readJson does", () => {
    expectSame('{"inputs": [[0, 0.5, 1, 0.25], [1, 1, 0, 0]]}');
    expectSame('{"input":[0,0.00392156862745098,0.10196078431372549,1e-3]}');
    expectSame(' {\n\t"scale": 255, "inputs": [[0, 255, 17, 3.5]], "top_k": 2, "output": "logits"}\r\n');
    expectSame('{"output":"label","input":[1E0,2.5e-1,0.0,0.7294117647058823]}');
    expectSame('{"inputs":[[0.1,0.2,0.3,0.4]],"top_k":0}');
    expectSame('{"scale":2.5,"input":[2.5,1.25,0,0.3]}', wide);
    expectSame('{"scale":1e3,"input":[5e2,1E3,25e+1,0.5e1]}', wide);
    expectSame('{"input":[0.123456789012345678901234,5e-324,1e-400,0.999999999999999999]}', wide);
    expectSame(`{"input":[0.${"3".repeat(300)},9007199254740993e-16,1.7976931348623157e-308,1234567890123456789e-19]}`, wide);
  });

  it("should read random values to the same floats as JSON.parse and readJson", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(undefined, 1, 255, 3.7),
        (images, scale) => {
          const scaled = images.map((img) => img.map((v) => v * (scale ?? 1)));
          expectSame(JSON.stringify(scale === undefined ? { inputs: scaled } : { scale, inputs: scaled }), wide);
          // Numbers written other ways: fixed with many places, and exponents.
          const text = `{"inputs":[${scaled.map((img) => `[${img.map((v, i) => (i % 2 ? v.toExponential(12) : v.toFixed(20))).join(",")}]`).join(",")}]${scale === undefined ? "" : `,"scale":${scale}`}}`;
          const got = scanPredictJson(bytes(text), wide, limits);
          // "scale" after the images is left to the full reader.
          if (scale === undefined) expectSame(text, wide);
          else expect(got).toBeUndefined();
        },
      ),
    );
  });

  it("should leave every body it does not read in full, or that fails a check, to the full reader", () => {
    for (const text of [
      "",
      "[]",
      "{}",
      "null",
      '{"inputs": []}',
      '{"inputs": [[0, 0, 0]]}',
      '{"inputs": [[0, 0, 0, 0, 0]]}',
      '{"inputs": [[0, 0, 0, 2]]}',
      '{"inputs": [[0, 0, 0, -0]]}',
      '{"inputs": [[0, 0, 0, -1]]}',
      '{"inputs": [[0, 0, 0, "1"]]}',
      '{"inputs": [[0, 0, 0, null]]}',
      '{"inputs": [[0, 0, 0, 01]]}',
      '{"inputs": [[0, 0, 0, 1.]]}',
      '{"inputs": [[0, 0, 0, .5]]}',
      '{"inputs": [[0, 0, 0, 1e]]}',
      '{"inputs": [[0, 0, 0, 1e999]]}',
      '{"inputs": [[[0, 0], [0, 1]]]}',
      '{"inputs": [[0, 0, 0, 1]], "input": [0, 0, 0, 1]}',
      '{"inputs": [[0, 0, 0, 1]], "inputs": [[0, 0, 0, 1]]}',
      '{"inputs": [[0, 0, 0, 1]], "extra": 1}',
      '{"inputs": [[0, 0, 0, 1]], "scale": 255}',
      '{"inputs": [[0, 0, 0, 1]], "top_k": 1001}',
      '{"inputs": [[0, 0, 0, 1]], "top_k": -1}',
      '{"inputs": [[0, 0, 0, 1]], "top_k": 1.5}',
      '{"inputs": [[0, 0, 0, 1]], "output": "best"}',
      '{"inputs": [[0, 0, 0, 1]], "output": "lab\\u0065l"}',
      '{"scale": 0, "inputs": [[0, 0, 0, 0]]}',
      '{"inputs": [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]]}',
      '{"inputs": [[0, 0, 0, 1]]} x',
      '{"inputs": [[0, 0, 0, 1]],}',
      '{"inputs": [[0, 0, 0, 1]]',
      '\ufeff{"inputs": [[0, 0, 0, 1]]}',
      '{"in\\u0070uts": [[0, 0, 0, 1]]}',
    ]) {
      expect(scanPredictJson(bytes(text), model, limits), text).toBeUndefined();
    }
  });
});
