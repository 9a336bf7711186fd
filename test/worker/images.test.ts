// Pictures in: PNG and JPEG bodies and multipart batches, made MNIST-style
// by the server, and every way a picture can be wrong answered with a 4xx.
import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toMnist } from "../../src/image/preprocess";
import { type Raster, toRgba } from "../../src/image/raster";
import { encodeModel } from "../../src/model/format";
import { DIGITS, draw, transparent } from "../fixtures/drawn";
import { expectProblem, freshApp, json, present } from "./helpers";
import { DEFAULT_MODEL } from "../../src/model/catalog";

interface Pred {
  label: number;
  name: string;
  probability?: number;
  probabilities?: number[];
  input?: number[][];
  inverted?: boolean;
}

const png = (img: Raster) => encodePng({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
const jpeg = (img: Raster, quality = 75) => new Uint8Array(encodeJpeg({ width: img.width, height: img.height, data: toRgba(img) }, quality).data);
const post = (bytes: Uint8Array, type: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": type, ...headers },
  body: bytes,
});

function form(files: [string, Uint8Array | string, string?][]): RequestInit {
  const fd = new FormData();
  for (const [field, bytes, type] of files) fd.append(field, typeof bytes === "string" ? bytes : new File([bytes], `${field}.bin`, { type: type ?? "" }));
  return { method: "POST", body: fd };
}

/** The same label, and every probability within float32 rounding (1e-6): bytes against the same pixels as JSON numbers. */
function expectSameAnswer(a: Pred, b: Pred): void {
  expect(a.label).toBe(b.label);
  const want = present(b.probabilities);
  expect(present(a.probabilities)).toHaveLength(want.length);
  present(a.probabilities).forEach((v, i) => {
    expect(Math.abs(v - want[i])).toBeLessThan(1e-6);
  });
}

const drawn = (digit: string, W = 200, H = 240, pen = 0.07) => draw(DIGITS[digit], W, H, pen);

describe("POST /v1/predict with a PNG or JPEG", () => {
  for (const digit of Object.keys(DIGITS)) {
    it(`should read a drawn ${digit}, as PNG and as JPEG`, async () => {
      const { call } = freshApp();
      for (const [body, type] of [
        [png(drawn(digit)), "image/png"],
        [jpeg(drawn(digit)), "image/jpeg"],
      ] as const) {
        const res = await call("/v1/predict", post(body, type));
        expect(res.status, type).toBe(200);
        const p = (await res.json()) as Pred & { model: string };
        expect(p.model).toBe(DEFAULT_MODEL);
        expect(p.label, type).toBe(Number(digit));
        expect(p.name).toBe(digit);
        expect(present(p.probabilities)).toHaveLength(10);
        expect(p.input).toBeUndefined();
      }
    });
  }

  it("should read a transparent canvas drawing and a white-on-black one as the same digit", async () => {
    const { call } = freshApp();
    const seven = drawn("7");
    const inverted: Raster = { ...seven, data: seven.data.map((v) => 255 - v) };
    const a = (await (await call("/v1/predict?debug=1", post(png(transparent(seven)), "image/png"))).json()) as Pred;
    const b = (await (await call("/v1/predict?debug=1", post(png(inverted), "image/png"))).json()) as Pred;
    expect(a.label).toBe(7);
    expect(b.label).toBe(7);
    expect(a.inverted).toBe(true);
    expect(b.inverted).toBe(false);
    expect(b.input).toEqual(a.input);
  });

  it("should add, with ?debug=1, the 28×28 bytes the network saw: as bytes they predict the same bits, as JSON the same label", async () => {
    const { call } = freshApp();
    const img = drawn("0");
    const res = await call("/v1/models/mnist-book/predict?debug=1&top_k=2", post(png(img), "image/png"));
    expect(res.status).toBe(200);
    const p = (await res.json()) as Pred & { model: string; top?: unknown[] };
    expect(p.model).toBe("mnist-book");
    expect(p.top).toHaveLength(2);
    const input = present(p.input);
    expect(input).toHaveLength(28);
    for (const row of input) expect(row).toHaveLength(28);
    expect(input.flat()).toEqual([...toMnist(img).pixels]);
    const asBytes = (await (await call("/v1/models/mnist-book/predict", post(Uint8Array.from(input.flat()), "application/octet-stream"))).json()) as {
      predictions: Pred[];
    };
    expect(asBytes.predictions[0].probabilities).toEqual(p.probabilities);
    // JSON numbers are floats: an I8 first layer then runs in float32, not on the bytes in whole numbers.
    const again = (await (await call("/v1/models/mnist-book/predict", json({ input, scale: 255 }))).json()) as Pred;
    expectSameAnswer(again, p);
  });

  it("should take a 28×28 picture as it is with ?preprocess=none", async () => {
    const { call } = freshApp();
    const small = toMnist(drawn("1"));
    const img: Raster = { width: 28, height: 28, channels: 1, data: small.pixels };
    const p = (await (await call("/v1/predict?preprocess=none&debug=1", post(png(img), "image/png"))).json()) as Pred;
    expect(present(p.input).flat()).toEqual([...small.pixels]);
    const asBytes = (await (await call("/v1/predict", post(small.pixels, "application/octet-stream"))).json()) as { predictions: Pred[] };
    expect(asBytes.predictions[0].probabilities).toEqual(p.probabilities);
    const raw = (await (await call("/v1/predict", json({ input: Array.from(small.pixels), scale: 255 }))).json()) as Pred;
    expectSameAnswer(raw, p);
    const e = await expectProblem(await call("/v1/predict?preprocess=none", post(png(drawn("1")), "image/png")), 422);
    expect(e.detail).toMatch(/exactly 28×28 pixels; this one is 200×240/);
    expect(e.kind).toBe("wrong-size");
  });

  it("should honour output=label for a picture", async () => {
    const { call } = freshApp();
    const p = (await (await call("/v1/predict?output=label", post(png(drawn("1")), "image/png"))).json()) as Pred;
    expect(p).toMatchObject({ label: 1, name: "1" });
    expect(p.probabilities).toBeUndefined();
  });
});

describe("POST /v1/predict with multipart/form-data", () => {
  it("should answer one prediction per file, in order, whatever the field names", async () => {
    const { call } = freshApp();
    const res = await call(
      "/v1/models/mnist-mlp/predict?debug=1",
      form([
        ["a", png(drawn("7")), "image/png"],
        ["files", jpeg(drawn("0")), "image/jpeg"],
        ["a", png(drawn("1", 120, 300)), "image/png"],
        ["x", png(drawn("0")), "application/octet-stream"],
      ]),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; predictions: Pred[] };
    expect(body.predictions.map((p) => p.label)).toEqual([7, 0, 1, 0]);
    expect(present(body.predictions[0].input)).toHaveLength(28);
  });

  it("should refuse text fields, non-image files and empty forms, naming the part", async () => {
    const { call } = freshApp();
    let e = await expectProblem(await call("/v1/predict", form([["note", "hello"]])), 400);
    expect(e.detail).toMatch(/multipart field "note" is text, not a file/);
    e = await expectProblem(
      await call(
        "/v1/predict",
        form([
          ["a", png(drawn("7")), "image/png"],
          ["b", new TextEncoder().encode("GIF89a"), "image/gif"],
        ]),
      ),
      415,
    );
    expect(e.detail).toMatch(/^image 2 of 2 \("b.bin"\): unsupported image type "image\/gif"/);
    expect(e.part).toBe(1);
    e = await expectProblem(await call("/v1/predict", form([["t", new TextEncoder().encode("plain words"), "text/plain"]])), 415);
    await expectProblem(await call("/v1/predict", { method: "POST", headers: { "Content-Type": "multipart/form-data; boundary=x" }, body: "--x--\r\n" }), 400);
  });

  it("should refuse a malformed multipart body with a 400", async () => {
    const { call } = freshApp();
    const e = await expectProblem(
      await call("/v1/predict", { method: "POST", headers: { "Content-Type": "multipart/form-data; boundary=zzz" }, body: "not multipart at all" }),
      400,
    );
    expect(e.detail).toMatch(/multipart/);
  });

  it("should hold a batch to MAX_BATCH before decoding anything", async () => {
    const { call } = freshApp();
    const one = png(drawn("1"));
    const e = await expectProblem(
      await call(
        "/v1/predict",
        form([
          ["a", one, "image/png"],
          ["b", one, "image/png"],
          ["c", one, "image/png"],
        ]),
        { MAX_BATCH: "2" },
      ),
      413,
    );
    expect(e.detail).toMatch(/3 images in one request; the limit is 2 \(MAX_BATCH\)/);
  });
});

describe("POST /v1/predict with a bad picture", () => {
  it("should refuse a blank picture with a 422, not a guess", async () => {
    const { call } = freshApp();
    const white: Raster = { width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64).fill(255) };
    for (const [body, type] of [
      [png(white), "image/png"],
      [jpeg(white), "image/jpeg"],
    ] as const) {
      const e = await expectProblem(await call("/v1/predict", post(body, type)), 422);
      expect(e.detail).toBe("the image is blank: draw or send a digit");
      expect(e.kind).toBe("blank");
    }
  });

  it("should refuse corrupt and truncated pictures with a 400 naming the format", async () => {
    const { call } = freshApp();
    const p = png(drawn("7"));
    const j = jpeg(drawn("7"));
    for (const [body, type, format] of [
      [p.slice(0, p.length >> 1), "image/png", "PNG"],
      [j.slice(0, j.length >> 1), "image/jpeg", "JPEG"],
      [new TextEncoder().encode("not a picture"), "image/png", "PNG"],
      [new Uint8Array(0), "image/jpeg", "JPEG"],
    ] as const) {
      const e = await expectProblem(await call("/v1/predict", post(body, type)), 400);
      expect(e.detail).toMatch(new RegExp(`the ${format} image is corrupt or truncated`));
    }
  });

  it("should refuse a picture over MAX_IMAGE_PIXELS from its header (413)", async () => {
    const { call } = freshApp();
    // A whole, valid PNG that is just over the limit set for the request.
    const big: Raster = { width: 101, height: 100, channels: 1, data: new Uint8Array(10100).fill(255) };
    let e = await expectProblem(await call("/v1/predict", post(png(big), "image/png"), { MAX_IMAGE_PIXELS: "10000" }), 413);
    expect(e.detail).toMatch(/101×100 = 10100 pixels; the limit is 10000 \(MAX_IMAGE_PIXELS\)/);
    // A header claiming 100000×100000 with no pixel data at all.
    const header = png({ width: 1, height: 1, channels: 1, data: new Uint8Array(1) });
    new DataView(header.buffer).setUint32(16, 100_000);
    new DataView(header.buffer).setUint32(20, 100_000);
    e = await expectProblem(await call("/v1/predict", post(header, "image/png")), 413);
    expect(e.detail).toMatch(/the limit is 12582912 \(MAX_IMAGE_PIXELS\)/);
  });

  it("should hold a request's pictures together to 8 × MAX_IMAGE_PIXELS", async () => {
    const { call } = freshApp();
    const one = png(drawn("1", 100, 100));
    const parts: [string, Uint8Array, string][] = Array.from({ length: 9 }, (_, i) => [`f${i}`, one, "image/png"]);
    const e = await expectProblem(await call("/v1/predict", form(parts), { MAX_IMAGE_PIXELS: "10000" }), 413);
    expect(e.detail).toMatch(/the images hold 90000 pixels in all; one request may hold 80000 \(8 × MAX_IMAGE_PIXELS\)/);
  });

  it("should refuse picture types it does not decode with a 415", async () => {
    const { call } = freshApp();
    for (const type of ["image/gif", "image/webp", "text/plain"]) {
      const e = await expectProblem(await call("/v1/predict", post(new Uint8Array([71, 73, 70, 56, 57, 97]), type)), 415);
      expect(e.detail, type).toMatch(/image\/png, image\/jpeg or multipart\/form-data/);
    }
  });

  it("should refuse pictures for a model that takes no square picture (422)", async () => {
    // A registry whose model takes 12 inputs in one row.
    const tiny = encodeModel(
      {
        layers: [{ W: new Float32Array(12 * 2), b: new Float32Array(2), inSize: 12, outSize: 2, activation: "softmax" }],
      },
      { labels: ["a", "b"], inputShape: [1, 12] },
    );
    const { call } = freshApp({ tiny: tiny.slice().buffer }, "tiny");
    const e = await expectProblem(await call("/v1/predict", post(png(drawn("1")), "image/png")), 422);
    expect(e.detail).toMatch(/not a square picture/);
  });
});

describe("POST /v1/predict with damaged pictures", () => {
  it("should answer 200 or a 4xx problem, never a 5xx, whatever bytes are changed", async () => {
    const { call } = freshApp();
    const img = drawn("7", 60, 70);
    const bases: [Uint8Array, string][] = [
      [png(img), "image/png"],
      [png({ ...img, channels: 4, data: toRgba(img) }), "image/png"],
      [jpeg(img), "image/jpeg"],
    ];
    const damage = fc.record({
      base: fc.integer({ min: 0, max: bases.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat()),
    });
    await fc.assert(
      fc.asyncProperty(damage, async ({ base, edits, cut }) => {
        const [bytes, type] = bases[base];
        let b = bytes.slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        if (cut !== null) b = b.slice(0, cut % b.length);
        const res = await call("/v1/predict", post(b, type));
        if (res.status !== 200) await expectProblem(res, res.status);
        expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
      }),
      { numRuns: 150, seed: 8 },
    );
  });
});
