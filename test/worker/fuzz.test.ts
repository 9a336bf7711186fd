// Client input never causes a 500: random bodies, methods and headers against
// every route get a 2xx or a 4xx problem, never a 5xx.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshApp } from "./helpers";

const { call } = freshApp();
const paths = [
  "/v1/predict",
  "/v1/models/mnist-book/predict",
  "/v1/models/nope/predict",
  "/v2/models/mnist-book/infer",
  "/v2/models/mnist-book/versions/1/infer",
  "/v1/models/mnist-book",
  "/v2/models/mnist-book",
];
const pixel = fc.oneof(fc.double(), fc.integer({ min: -300, max: 300 }), fc.constant(0), fc.string({ maxLength: 3 }), fc.constant(null), fc.boolean());
const image = fc.oneof(fc.array(pixel, { maxLength: 800 }), fc.array(fc.array(pixel, { maxLength: 30 }), { maxLength: 30 }), pixel);
const body = fc.oneof(
  fc.record(
    { input: image, scale: fc.oneof(fc.double(), fc.constant(255)), top_k: fc.oneof(fc.integer(), fc.double()), output: fc.string() },
    { requiredKeys: [] },
  ),
  fc.record({ inputs: fc.array(image, { maxLength: 3 }) }, { requiredKeys: [] }),
  fc.record(
    {
      id: fc.oneof(fc.string(), fc.integer()),
      inputs: fc.array(
        fc.record(
          {
            name: fc.string(),
            shape: fc.array(fc.integer({ min: -2, max: 800 }), { maxLength: 3 }),
            datatype: fc.constantFrom("FP32", "UINT8", "INT64", "x"),
            data: fc.oneof(image, fc.array(image, { maxLength: 2 })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
      outputs: fc.array(fc.record({ name: fc.string() }), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

describe("random requests", () => {
  it("should never answer 5xx to JSON bodies", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), body, fc.constantFrom("POST", "GET", "PUT"), async (path, b, method) => {
        const res = await call(path, { method, headers: { "Content-Type": "application/json" }, body: method === "GET" ? undefined : JSON.stringify(b) });
        expect(res.status, await res.clone().text()).toBeLessThan(500);
        if (res.status >= 400) expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      }),
      { numRuns: 300 },
    );
  });

  it("should never answer 5xx to random bytes, content types and encodings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.uint8Array({ maxLength: 3200 }),
        fc.constantFrom("application/octet-stream", "application/json", "text/plain", "", "application/x-www-form-urlencoded"),
        fc.constantFrom(undefined, "gzip", "identity", "br"),
        fc.constantFrom("", "?output=label", "?top_k=-1", "?output=nope", "?top_k=abc"),
        async (path, bytes, type, encoding, query) => {
          const headers: Record<string, string> = {};
          if (type) headers["Content-Type"] = type;
          if (encoding) headers["Content-Encoding"] = encoding;
          const res = await call(path + query, { method: "POST", headers, body: bytes });
          expect(res.status, await res.clone().text()).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
