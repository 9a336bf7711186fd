// Whole numbers: POST /v1/read and /v1/models/{model}/read. Numbers are
// composed of digits drawn as a pen would (test/fixtures/drawn.ts), each on
// its own tile of a row, so every digit's place in the picture is known and
// its box can be held to it.
import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { describe, expect, it } from "vitest";
import { type Raster, toRgba } from "../../src/image/raster";
import { MAX_DIGITS } from "../../src/image/segment";
import { rng } from "../../src/nn/random";
import { baseScene, photograph, toJpeg } from "../../scripts/lib/photos";
import { DIGITS, draw } from "../fixtures/drawn";
import { expectProblem, freshApp } from "./helpers";
import { DEFAULT_MODEL } from "../../src/model/catalog";

interface Digit {
  label: number;
  probability: number;
  box: [number, number, number, number];
  top: { label: number; name: string; probability: number }[];
}
interface Reading {
  text: string;
  width: number;
  height: number;
  digits: Digit[];
}

const TILE_W = 120;
const TILE_H = 160;
const GAP = 30;
const MARGIN = 40;

/**
 * A number written in a row: each digit drawn on its own TILE_W × TILE_H
 * tile, tiles GAP apart after a MARGIN, dark ink on white. Tile n spans
 * x = MARGIN + n (TILE_W + GAP) .. + TILE_W.
 */
function writeNumber(text: string): Raster {
  const W = 2 * MARGIN + text.length * TILE_W + (text.length - 1) * GAP;
  const H = TILE_H + 2 * MARGIN;
  const data = new Uint8Array(W * H).fill(255);
  [...text].forEach((ch, n) => {
    const tile = draw(DIGITS[ch], TILE_W, TILE_H, 0.1);
    const x0 = MARGIN + n * (TILE_W + GAP);
    for (let y = 0; y < TILE_H; y++) for (let x = 0; x < TILE_W; x++) data[(MARGIN + y) * W + x0 + x] = tile.data[y * TILE_W + x];
  });
  return { width: W, height: H, channels: 1, data };
}

const png = (img: Raster) => encodePng({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
const jpeg = (img: Raster, quality = 85) => new Uint8Array(encodeJpeg({ width: img.width, height: img.height, data: toRgba(img) }, quality).data);
const post = (bytes: Uint8Array, type: string): RequestInit => ({ method: "POST", headers: { "Content-Type": type }, body: bytes });

/** Each box lies inside its own tile (scaled by k) and the boxes go left to right. */
function expectInTiles(r: Reading, text: string, k = 1): void {
  expect(r.digits).toHaveLength(text.length);
  r.digits.forEach((d, n) => {
    const [x, y, w, h] = d.box;
    const x0 = (MARGIN + n * (TILE_W + GAP)) * k;
    // Two pixels of slack for rounding after a reduced-scale decode.
    expect(x, `digit ${n} x`).toBeGreaterThanOrEqual(x0 - 2 * k);
    expect(x + w, `digit ${n} right edge`).toBeLessThanOrEqual(x0 + (TILE_W + 2) * k);
    expect(y, `digit ${n} y`).toBeGreaterThanOrEqual((MARGIN - 2) * k);
    expect(y + h, `digit ${n} bottom`).toBeLessThanOrEqual((MARGIN + TILE_H + 2) * k);
    // A drawn stroke fills much of its tile's height.
    expect(h, `digit ${n} height`).toBeGreaterThan(TILE_H * 0.5 * k);
    if (n > 0) expect(x, `digit ${n} after digit ${n - 1}`).toBeGreaterThan(r.digits[n - 1].box[0] + r.digits[n - 1].box[2]);
  });
}

describe("POST /v1/read", () => {
  it("should read a drawn number as PNG, digit by digit, boxes left to right in the picture's pixels", async () => {
    const { call } = freshApp();
    const img = writeNumber("1707");
    const res = await call("/v1/read", post(png(img), "image/png"));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const r = (await res.json()) as Reading & { model: string };
    expect(r.model).toBe(DEFAULT_MODEL);
    expect(r.text).toBe("1707");
    expect([r.width, r.height]).toEqual([img.width, img.height]);
    expectInTiles(r, "1707");
    for (const d of r.digits) {
      expect(d.top).toHaveLength(3);
      expect(d.top[0].label).toBe(d.label);
      expect(d.top[0].probability).toBe(d.probability);
      expect(d.probability).toBeGreaterThan(0.5);
    }
  });

  it("should read with a named model, and list top_k classes", async () => {
    const { call } = freshApp();
    const res = await call("/v1/models/mnist-book/read?top_k=5", post(jpeg(writeNumber("701")), "image/jpeg"));
    expect(res.status).toBe(200);
    const r = (await res.json()) as Reading & { model: string };
    expect(r.model).toBe("mnist-book");
    expect(r.text).toBe("701");
    for (const d of r.digits) expect(d.top).toHaveLength(5);
  });

  it("should read a phone photo of a number: uneven light and noise, JPEG", async () => {
    const { call } = freshApp();
    const written = writeNumber("710");
    const ink = { v: Float32Array.from(written.data, (p) => 255 - p), W: written.width, H: written.height };
    const rand = rng(7);
    const scene = { ...baseScene(rand), W: 1200, H: 900, gradient: 0.4, size: 0.3 };
    const res = await call("/v1/read", post(photograph(ink, scene, rand), "image/jpeg"));
    expect(res.status).toBe(200);
    const r = (await res.json()) as Reading;
    expect(r.text).toBe("710");
    expect([r.width, r.height]).toEqual([1200, 900]);
    // The writing was placed somewhere in the photo: the boxes lie inside it and go left to right.
    for (const [n, d] of r.digits.entries()) {
      const [x, y, w, h] = d.box;
      expect(x >= 0 && y >= 0 && x + w <= 1200 && y + h <= 900, `box ${d.box}`).toBe(true);
      if (n > 0) expect(x).toBeGreaterThan(r.digits[n - 1].box[0]);
    }
  });

  it("should apply EXIF Orientation first: boxes in the picture as shown", async () => {
    const { call } = freshApp();
    const img = writeNumber("170");
    const rgb: Raster = { width: img.width, height: img.height, channels: 3, data: new Uint8Array(img.width * img.height * 3) };
    for (let i = 0; i < img.width * img.height; i++) rgb.data.fill(img.data[i], i * 3, i * 3 + 3);
    // Stored a quarter turn anticlockwise, with Orientation 6 saying "turn 90° clockwise to view".
    const upright = await call("/v1/read", post(toJpeg(rgb, 90, 1), "image/jpeg"));
    const sideways = await call("/v1/read", post(toJpeg(rgb, 90, 6), "image/jpeg"));
    expect(sideways.status).toBe(200);
    const a = (await upright.json()) as Reading;
    const b = (await sideways.json()) as Reading;
    expect(b.text).toBe("170");
    expect([b.width, b.height]).toEqual([img.width, img.height]);
    expectInTiles(b, "170");
    expect(b.digits.map((d) => d.box)).toEqual(a.digits.map((d) => d.box));
  });

  it("should read each file of a multipart body, in order, in one answer", async () => {
    const { call } = freshApp();
    const fd = new FormData();
    fd.append("a", new File([png(writeNumber("17"))], "a.png", { type: "image/png" }));
    fd.append("b", new File([jpeg(writeNumber("0710"))], "b.jpg", { type: "image/jpeg" }));
    fd.append("c", new File([png(writeNumber("7"))], "c.png", { type: "image/png" }));
    const res = await call("/v1/models/mnist-mlp/read", { method: "POST", body: fd });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { model: string; readings: Reading[]; text?: string };
    expect(r.text).toBeUndefined();
    expect(r.readings.map((x) => x.text)).toEqual(["17", "0710", "7"]);
    expectInTiles(r.readings[1], "0710");
  });

  it("should answer 422 for blank paper, and name the part in a multipart body", async () => {
    const { call } = freshApp();
    const white: Raster = { width: 300, height: 120, channels: 1, data: new Uint8Array(300 * 120).fill(250) };
    const p = await expectProblem(await call("/v1/read", post(png(white), "image/png")), 422);
    expect(p.detail).toMatch(/blank/);
    const rand = rng(3);
    const paper = await call("/v1/read", post(photograph(null, { ...baseScene(rand), gradient: 0.5, rule: 40 }, rand), "image/jpeg"));
    await expectProblem(paper, 422);
    const fd = new FormData();
    fd.append("a", new File([png(writeNumber("17"))], "a.png", { type: "image/png" }));
    fd.append("b", new File([png(white)], "b.png", { type: "image/png" }));
    const many = await expectProblem(await call("/v1/read", { method: "POST", body: fd }), 422);
    expect(many.part).toBe(1);
    expect(many.detail).toMatch(/image 2 of 2/);
  });

  it(`should answer 413 for more than ${MAX_DIGITS} digits in one picture`, async () => {
    const { call } = freshApp();
    const p = await expectProblem(await call("/v1/read", post(png(writeNumber("1".repeat(MAX_DIGITS + 1))), "image/png")), 413);
    expect(p.detail).toMatch(new RegExp(`more than ${MAX_DIGITS} digits`));
    // At the limit it reads.
    const ok = await call("/v1/read", post(png(writeNumber("1".repeat(MAX_DIGITS))), "image/png"));
    expect(((await ok.json()) as Reading).text).toBe("1".repeat(MAX_DIGITS));
  });

  it("should answer 413 for a picture over MAX_IMAGE_PIXELS, from its header", async () => {
    const { call } = freshApp();
    const res = await call("/v1/read", post(png(writeNumber("17")), "image/png"), { MAX_IMAGE_PIXELS: "10000" });
    const p = await expectProblem(res, 413);
    expect(p.detail).toMatch(/MAX_IMAGE_PIXELS/);
  });

  it("should answer 415 for JSON, text or a GIF, and 400 for a corrupt PNG", async () => {
    const { call } = freshApp();
    await expectProblem(await call("/v1/read", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }), 415);
    await expectProblem(await call("/v1/read", post(new TextEncoder().encode("GIF89a"), "image/gif")), 415);
    const fd = new FormData();
    fd.append("a", new File(["hello"], "a.txt", { type: "text/plain" }));
    await expectProblem(await call("/v1/read", { method: "POST", body: fd }), 415);
    const bytes = png(writeNumber("17"));
    await expectProblem(await call("/v1/read", post(bytes.subarray(0, bytes.length / 2), "image/png")), 400);
  });

  it("should answer 422 for a model that does not read digits, naming those that do", async () => {
    const { call } = freshApp();
    const p = await expectProblem(await call("/v1/models/fashion-mlp/read", post(png(writeNumber("17")), "image/png")), 422);
    expect(p.detail).toMatch(/does not read digits/);
    expect(p.detail).toMatch(/mnist-mlp/);
  });

  it("should answer 404 for an unknown model and 405 for GET", async () => {
    const { call } = freshApp();
    await expectProblem(await call("/v1/models/nope/read", post(png(writeNumber("17")), "image/png")), 404);
    await expectProblem(await call("/v1/read"), 405);
  });
});
