import { encode as encodePng } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../config";
import { decodeImage, imageHeader, inverseOrientation, jpegScale, orientRaster } from "./decode";
import { toMnist } from "./preprocess";
import { ImageError, toRgba } from "./raster";
import { refusal } from "../../test/helpers";

const W = 37;
const H = 29;

/** A smooth test pattern, channel c of pixel (x, y). */
const level = (x: number, y: number, c: number) => (x * 5 + y * 3 + c * 60) % 256;

function pattern(channels: number): Uint8Array {
  const out = new Uint8Array(W * H * channels);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < channels; c++) out[(y * W + x) * channels + c] = level(x, y, c);
  return out;
}

/** Header, then pixels, as the service reads a picture. */
const read = (bytes: Uint8Array, type: string, maxPixels = DEFAULTS.MAX_IMAGE_PIXELS) => decodeImage(bytes, imageHeader(bytes, type), maxPixels);

/** A PNG with only a signature, an IHDR claiming width × height, and IEND. */
function pngHeader(width: number, height: number): Uint8Array {
  const b = new Uint8Array(8 + 25 + 12);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(b.buffer);
  dv.setUint32(8, 13);
  b.set([73, 72, 68, 82], 12); // IHDR
  dv.setUint32(16, width);
  dv.setUint32(20, height);
  b.set([8, 0, 0, 0, 0], 24); // 8-bit grey
  b.set([73, 69, 78, 68], 8 + 25 + 4); // IEND
  return b;
}

/** A JPEG with SOI, a baseline frame header claiming width × height, an empty scan and EOI. */
function jpegHeader(width: number, height: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0,
    11,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    1,
    1,
    0x11,
    0,
    0xff,
    0xda,
    0,
    8,
    1,
    1,
    0,
    0,
    63,
    0,
    0xff,
    0xd9,
  ]);
}

describe("decodeImage: PNG", () => {
  for (const channels of [1, 2, 3, 4] as const) {
    it(`should round-trip ${channels}-channel 8-bit pixels exactly`, () => {
      const data = pattern(channels);
      const img = read(encodePng({ width: W, height: H, data, channels, depth: 8 }), "image/png", W * H);
      expect(img).toMatchObject({ width: W, height: H, channels });
      expect([...img.data]).toEqual([...data]);
    });
  }

  it("should bring 16-bit samples down to 8 bits", () => {
    const data8 = pattern(3);
    const data = Uint16Array.from(data8, (v) => v * 257 + (v < 255 ? 100 : 0));
    const img = read(encodePng({ width: W, height: H, data, channels: 3, depth: 16 }), "image/png", W * H);
    expect(img.channels).toBe(3);
    expect([...img.data]).toEqual([...data8]);
  });

  it("should look up palette colours, with their transparency", () => {
    // Translucent colours first: fast-png's encoder writes the alphas that are not 255, in order.
    const palette = [
      [255, 255, 255, 0],
      [200, 100, 0, 128],
      [10, 20, 30, 255],
    ];
    const index = Uint8Array.from({ length: W * H }, (_, i) => i % 3);
    const img = read(encodePng({ width: W, height: H, data: index, channels: 1, depth: 8, palette }), "image/png", W * H);
    expect(img.channels).toBe(4);
    expect([...img.data]).toEqual([...index].flatMap((i) => palette[i]));
    const opaque = palette.map((c) => c.slice(0, 3));
    const rgb = read(encodePng({ width: W, height: H, data: index, channels: 1, depth: 8, palette: opaque }), "image/png");
    expect(rgb.channels).toBe(3);
    expect([...rgb.data]).toEqual([...index].flatMap((i) => opaque[i]));
  });

  it("should unpack 1-bit grey to 0 and 255", () => {
    const bits = [1, 0, 0, 1, 1, 1, 0, 1, 0, 1];
    // One row of 10 pixels is 2 bytes, most significant bit first.
    const data = new Uint8Array([0b10011101, 0b01000000]);
    const img = read(encodePng({ width: 10, height: 1, data, channels: 1, depth: 1 }), "image/png");
    expect([...img.data]).toEqual(bits.map((b) => b * 255));
  });

  it("should read a grey + alpha drawing as the same digit on white", () => {
    const ink = new Uint8Array(40 * 40);
    for (let y = 8; y < 32; y++) for (let x = 15; x < 21; x++) ink[y * 40 + x] = 255;
    const ga = new Uint8Array(40 * 40 * 2);
    ink.forEach((a, i) => {
      ga.set([0, a], i * 2);
    });
    const onWhite = ink.map((a) => 255 - a);
    const fromAlpha = toMnist(read(encodePng({ width: 40, height: 40, data: ga, channels: 2, depth: 8 }), "image/png"));
    const fromGrey = toMnist(read(encodePng({ width: 40, height: 40, data: onWhite, channels: 1, depth: 8 }), "image/png"));
    expect([...fromAlpha.pixels]).toEqual([...fromGrey.pixels]);
  });

  it("should refuse a header claiming 100000×100000 before decoding (413)", () => {
    const e = refusal(() => read(pngHeader(100_000, 100_000), "image/png", 4_194_304), ImageError);
    expect(e.kind).toBe("too-large");
    expect(e.message).toMatch(/100000×100000 = 10000000000 pixels; the limit is 4194304 \(MAX_IMAGE_PIXELS\)/);
    expect(refusal(() => read(pngHeader(W, H), "image/png", W * H - 1), ImageError).kind).toBe("too-large");
  });

  it("should refuse truncated and corrupt files with a 400 naming the format", () => {
    const good = encodePng({ width: W, height: H, data: pattern(3), channels: 3, depth: 8 });
    for (const cut of [4, 20, 40, good.length >> 1, good.length - 1]) {
      const e = refusal(() => read(good.slice(0, cut), "image/png"), ImageError);
      expect(e.kind, `cut at ${cut}`).toBe("corrupt");
      expect(e.message).toMatch(/PNG image is corrupt or truncated/);
    }
    // Scrambled compressed data: the inflater's own message is passed on.
    const bad = good.slice();
    for (let i = 41; i < bad.length - 16; i++) bad[i] = (i * 151) & 255;
    expect(refusal(() => read(bad, "image/png"), ImageError).message).toMatch(/^the PNG image is corrupt or truncated: .+\. Send the whole file/);
    // A zero-sized image.
    expect(refusal(() => read(pngHeader(0, 5), "image/png"), ImageError).message).toMatch(/0×5 pixels/);
  });
});

describe("decodeImage: JPEG", () => {
  const rgba = pattern(4).map((v, i) => (i % 4 === 3 ? 255 : v));
  const jpeg = new Uint8Array(encodeJpeg({ width: W, height: H, data: rgba }, 95).data);

  it("should round-trip within JPEG's loss, as RGB", () => {
    const img = read(jpeg, "image/jpeg", W * H);
    expect(img).toMatchObject({ width: W, height: H, channels: 3 });
    let worst = 0;
    for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(img.data[i * 3 + c] - rgba[i * 4 + c]));
    expect(worst).toBeLessThan(24);
  });

  it("should go by the bytes when the Content-Type names the other format", () => {
    expect(read(jpeg, "image/png").channels).toBe(3);
    expect(read(jpeg, "IMAGE/JPG; q=1").width).toBe(W);
  });

  it("should refuse a frame header claiming 60000×60000 before decoding (413)", () => {
    const e = refusal(() => read(jpegHeader(60_000, 60_000), "image/jpeg", 4_194_304), ImageError);
    expect(e.kind).toBe("too-large");
    expect(e.message).toMatch(/60000×60000/);
  });

  it("should refuse truncated and corrupt files with a 400 naming the format", () => {
    for (const cut of [3, 10, 100, jpeg.length >> 1, jpeg.length - 1]) {
      const e = refusal(() => read(jpeg.slice(0, cut), "image/jpeg"), ImageError);
      expect(e.kind, `cut at ${cut}`).toBe("corrupt");
      expect(e.message).toMatch(/JPEG image is corrupt or truncated/);
    }
    const noise = Uint8Array.from({ length: 200 }, (_, i) => (i * 97) & 255);
    noise.set([0xff, 0xd8, 0xff]);
    expect(refusal(() => read(noise, "image/jpeg"), ImageError).kind).toBe("corrupt");
  });
});

describe("decodeImage: types", () => {
  it("should refuse a type it does not decode with a 415", () => {
    const e = refusal(() => read(new Uint8Array([71, 73, 70, 56]), "image/gif"), ImageError);
    expect(e.kind).toBe("unsupported");
    expect(e.message).toMatch(/only PNG and JPEG/);
  });

  it("should refuse bytes that are neither PNG nor JPEG with a 400", () => {
    const e = refusal(() => read(new TextEncoder().encode("hello, not an image"), "image/png"), ImageError);
    expect(e.kind).toBe("corrupt");
    expect(e.message).toMatch(/does not start with the PNG signature/);
    expect(refusal(() => read(new Uint8Array(0), "image/jpeg"), ImageError).kind).toBe("corrupt");
  });
});

describe("toRgba", () => {
  it("should spread grey and keep alpha", () => {
    expect([...toRgba({ width: 2, height: 1, channels: 2, data: new Uint8Array([10, 20, 30, 40]) })]).toEqual([10, 10, 10, 20, 30, 30, 30, 40]);
    expect([...toRgba({ width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) })]).toEqual([1, 2, 3, 255]);
  });
});

describe("decodeImage: EXIF Orientation and large JPEGs", () => {
  // An asymmetric 48×32 picture: a dark block in the top-left corner and a grey bar along the bottom.
  const w = 48;
  const h = 32;
  const shown = new Uint8Array(w * h).map((_, i) => {
    const x = i % w;
    const y = (i - x) / w;
    return x < 16 && y < 16 ? 0 : y >= 24 ? 128 : 255;
  });
  const shownRaster = { width: w, height: h, channels: 1 as const, data: shown };

  /** An APP1 segment with only an Orientation tag, in the byte order asked. */
  function app1(o: number, littleEndian: boolean): number[] {
    const tiff = littleEndian
      ? [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0]
      : [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0];
    const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    return [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  }

  /** The picture stored as a phone would for orientation o: turned the other way, with the tag. */
  function stored(o: number, littleEndian = false): Uint8Array {
    const s = orientRaster(shownRaster, inverseOrientation(o));
    const jpeg = new Uint8Array(encodeJpeg({ width: s.width, height: s.height, data: toRgba(s) }, 95).data);
    return Uint8Array.from([...jpeg.subarray(0, 2), ...app1(o, littleEndian), ...jpeg.subarray(2)]);
  }

  for (let o = 1; o <= 8; o++) {
    it(`should show a JPEG stored with Orientation ${o} as it was taken`, () => {
      const bytes = stored(o, o % 2 === 0);
      const header = imageHeader(bytes, "image/jpeg");
      expect(header.orientation).toBe(o);
      expect([header.width, header.height]).toEqual(o >= 5 ? [h, w] : [w, h]);
      const img = decodeImage(bytes, header, DEFAULTS.MAX_IMAGE_PIXELS);
      expect(img).toMatchObject({ width: w, height: h, scale: 1 });
      let worst = 0;
      for (let i = 0; i < w * h; i++) worst = Math.max(worst, Math.abs(img.data[i * 3] - shown[i]));
      expect(worst).toBeLessThan(40);
    });
  }

  it("should take a PNG and an untagged JPEG as stored (orientation 1)", () => {
    const png = encodePng({ width: w, height: h, data: shown, channels: 1, depth: 8 });
    expect(imageHeader(png, "image/png").orientation).toBe(1);
    const jpeg = new Uint8Array(encodeJpeg({ width: w, height: h, data: toRgba(shownRaster) }, 90).data);
    expect(imageHeader(jpeg, "image/jpeg").orientation).toBe(1);
  });

  it("should decode a large JPEG at a reduced scale and say by how much", () => {
    // 2400 × 1600: 1/8 scale would be 300 on the long side, 1/4 gives 600, 1/2 gives 1200 ≥ DECODE_SIDE.
    const W2 = 2400;
    const H2 = 1600;
    const rgba = new Uint8Array(W2 * H2 * 4).fill(255);
    for (let y = 400; y < 800; y++) for (let x = 1200; x < 1600; x++) rgba.fill(0, (y * W2 + x) * 4, (y * W2 + x) * 4 + 3);
    const bytes = new Uint8Array(encodeJpeg({ width: W2, height: H2, data: rgba }, 80).data);
    expect(jpegScale(W2, H2)).toBe(4);
    const img = decodeImage(bytes, imageHeader(bytes, "image/jpeg"), DEFAULTS.MAX_IMAGE_PIXELS);
    expect(img).toMatchObject({ width: 1200, height: 800, scale: 2 });
    expect(img.data[(300 * 1200 + 700) * 3]).toBeLessThan(30); // the square, at (1200..1599, 400..799) / 2
    expect(img.data[(100 * 1200 + 100) * 3]).toBeGreaterThan(225);
  });

  it("should refuse a PNG over PNG_MAX_PIXELS even under a higher limit: it is decoded whole", () => {
    const e = refusal(() => read(pngHeader(2049, 2048), "image/png"), ImageError);
    expect(e.kind).toBe("too-large");
    expect(e.message).toMatch(/a PNG is decoded whole.+Send it as a JPEG/);
  });

  it("should let a 12 MP photo through the default limit, and refuse one pixel more than the limit", () => {
    expect(4032 * 3024).toBeLessThanOrEqual(DEFAULTS.MAX_IMAGE_PIXELS);
    expect(jpegScale(4032, 3024)).toBe(2);
    expect(
      refusal(() => decodeImage(jpegHeader(4096, 3073), imageHeader(jpegHeader(4096, 3073), "image/jpeg"), DEFAULTS.MAX_IMAGE_PIXELS), ImageError).kind,
    ).toBe("too-large");
  });
});
