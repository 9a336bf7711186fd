import { decode as decodeJpeg, encode as encodeJpeg } from "jpeg-js";
import { describe, expect, it } from "vitest";
import { decodeJpegScaled, UnsupportedJpeg } from "./jpeg";

const W = 96;
const H = 64;

/** A smooth RGBA pattern with one hard-edged dark square, as a JPEG of quality q. */
function picture(q = 92): { rgba: Uint8Array; jpeg: Uint8Array } {
  const rgba = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const dark = x >= 40 && x < 56 && y >= 16 && y < 48;
      rgba.set(dark ? [20, 30, 90, 255] : [200 + (x >> 2), 150 + y, 120 + ((x + y) >> 2), 255], (y * W + x) * 4);
    }
  return { rgba, jpeg: new Uint8Array(encodeJpeg({ width: W, height: H, data: rgba }, q).data) };
}

describe("decodeJpegScaled", () => {
  const { jpeg } = picture();
  const full = decodeJpeg(jpeg, { useTArray: true, formatAsRGBA: false });

  for (const k of [1, 2, 4] as const) {
    it(`should agree at 1/${8 / k} scale with the full decode averaged over ${8 / k}×${8 / k} blocks`, () => {
      const img = decodeJpegScaled(jpeg, k);
      const f = 8 / k;
      expect(img).toMatchObject({ width: W / f, height: H / f, channels: 3 });
      let sum = 0;
      let worst = 0;
      for (let y = 0; y < img.height; y++)
        for (let x = 0; x < img.width; x++)
          for (let c = 0; c < 3; c++) {
            let s = 0;
            for (let j = 0; j < f; j++) for (let i = 0; i < f; i++) s += full.data[((y * f + j) * W + x * f + i) * 3 + c];
            const d = Math.abs(s / (f * f) - img.data[(y * img.width + x) * 3 + c]);
            sum += d;
            worst = Math.max(worst, d);
          }
      // The mean, not each pixel: at the square's hard edge the dropped high frequencies differ from a box average.
      console.log(`1/${f} scale: mean difference ${(sum / (img.width * img.height * 3)).toFixed(2)}, worst ${worst.toFixed(1)}`);
      expect(sum / (img.width * img.height * 3)).toBeLessThan(3);
      expect(worst).toBeLessThan(64);
    });
  }

  it("should decode at full scale within a level or two of jpeg-js", () => {
    const img = decodeJpegScaled(jpeg, 8);
    let worst = 0;
    for (let i = 0; i < W * H * 3; i++) worst = Math.max(worst, Math.abs(img.data[i] - full.data[i]));
    expect(worst).toBeLessThanOrEqual(3);
  });

  it("should give the block's mean at 1/8: the dark square is dark, the paper light", () => {
    const img = decodeJpegScaled(jpeg, 1);
    const at = (x: number, y: number) => img.data[(y * img.width + x) * 3];
    expect(at(5, 3)).toBeLessThan(40); // inside the square (pixels 40-55, 16-47)
    expect(at(1, 1)).toBeGreaterThan(190);
  });

  it("should refuse a progressive JPEG as unsupported, and damaged data with an error", () => {
    const prog = jpeg.slice();
    const sof = prog.findIndex((b, i) => b === 0xff && prog[i + 1] === 0xc0);
    prog[sof + 1] = 0xc2;
    expect(() => decodeJpegScaled(prog, 1)).toThrow(UnsupportedJpeg);
    // A scan naming Huffman tables 3 that the file never defines.
    const bad = jpeg.slice();
    const sos = bad.findIndex((b, i) => b === 0xff && bad[i + 1] === 0xda);
    bad[sos + 6] = 0x33;
    expect(() => decodeJpegScaled(bad, 2)).toThrow(/table that was not defined/);
  });
});
