import { describe, expect, it } from "vitest";
import { f16ToF32, f32ToF16 } from "./f16";
import { MAX_HEADER_BYTES, parseSafetensors, SafetensorsError, serializeSafetensors } from "./safetensors";

/** Builds a file from a header object and raw data bytes, exactly as given. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const t = (shape: number[], begin: number, end: number, dtype = "F32") => ({ dtype, shape, data_offsets: [begin, end] });

function rejects(bytes: Uint8Array, message: RegExp): void {
  expect(() => parseSafetensors(bytes)).toThrow(SafetensorsError);
  expect(() => parseSafetensors(bytes)).toThrow(message);
}

describe("safetensors", () => {
  it("should round-trip F32 tensors and metadata", () => {
    const a = new Float32Array([1, -2.5, 3e-8, 1e30, 0, -0]);
    const bytes = serializeSafetensors(
      [
        { name: "a", shape: [2, 3], data: a },
        { name: "b", shape: [1], data: new Float32Array([7]) },
      ],
      { k: "v" },
    );
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ k: "v" });
    expect(file.tensors.get("a")?.shape).toEqual([2, 3]);
    expect([...(file.tensors.get("a")?.data ?? [])]).toEqual([...a]);
    expect([...(file.tensors.get("b")?.data ?? [])]).toEqual([7]);
  });

  it("should pad the header with spaces to a multiple of 8 and give zero-copy views", () => {
    let padded = 0;
    for (let len = 0; len < 8; len++) {
      const bytes = serializeSafetensors([{ name: "w", shape: [3], data: new Float32Array([1, 2, 3]) }], { x: "y".repeat(len) });
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      if (bytes[8 + n - 1] === 0x20) padded++;
      const w = parseSafetensors(bytes).tensors.get("w");
      expect(w?.data.buffer).toBe(bytes.buffer);
      expect([...(w?.data ?? [])]).toEqual([1, 2, 3]);
    }
    expect(padded).toBe(7);
  });

  it("should copy when F32 data is not 4-byte aligned", () => {
    const bytes = serializeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1.5, 2.5]) }]);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const w = parseSafetensors(shifted.subarray(1)).tensors.get("w");
    expect([...(w?.data ?? [])]).toEqual([1.5, 2.5]);
    expect(w?.data.buffer).not.toBe(shifted.buffer);
  });

  it("should store F16 and decode it to F32 within half precision", () => {
    const a = new Float32Array([0, 1, -2, 0.1, 65504, 1e-6, 3.3]);
    const bytes = serializeSafetensors([{ name: "h", shape: [7], data: a, dtype: "F16" }]);
    const h = parseSafetensors(bytes).tensors.get("h");
    expect(h?.dtype).toBe("F16");
    h?.data.forEach((v, i) => {
      expect(Math.abs(v - a[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 2 ** -11 + 6e-8);
    });
  });

  it("should convert F16 exactly for every finite half value", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / NaN
      expect(f32ToF16(f16ToF32(h))).toBe(h === 0x8000 ? 0x8000 : h);
    }
  });

  it("should decode BF16", () => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint16(0, 0x3f80, true); // 1.0
    new DataView(data.buffer).setUint16(2, 0xc040, true); // -3.0
    const file = parseSafetensors(rawFile({ b: t([2], 0, 4, "BF16") }, data));
    expect([...(file.tensors.get("b")?.data ?? [])]).toEqual([1, -3]);
  });

  describe("rejections", () => {
    it("should refuse a file shorter than 8 bytes", () => rejects(new Uint8Array(3), /8-byte header length/));
    it("should refuse a header over 100 MB", () => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
      rejects(b, /exceeds/);
    });
    it("should refuse a header past the end of the file", () => {
      const b = rawFile({});
      new DataView(b.buffer).setBigUint64(0, 1000n, true);
      rejects(b, /past the end/);
    });
    it("should refuse invalid UTF-8", () =>
      rejects(
        rawFile(null, undefined, '{"\xff":1}').map((v, i) => (i === 10 ? 0xff : v)),
        /UTF-8/,
      ));
    it("should refuse invalid JSON", () => rejects(rawFile(null, undefined, "{nope"), /not valid JSON/));
    it("should refuse a header that is not an object", () => rejects(rawFile([1, 2]), /JSON object/));
    it("should refuse non-string metadata", () => rejects(rawFile({ __metadata__: { n: 1 } }), /metadata values must be strings/));
    it("should refuse an unknown dtype", () => rejects(rawFile({ w: t([1], 0, 4, "F17") }, new Uint8Array(4)), /"w": unknown dtype/));
    it("should refuse a dtype this reader cannot decode", () => rejects(rawFile({ w: t([1], 0, 8, "F64") }, new Uint8Array(8)), /"w": dtype F64/));
    it("should refuse a bad shape", () => rejects(rawFile({ w: t([-1], 0, 4) }, new Uint8Array(4)), /"w": shape/));
    it("should refuse a byte length that does not match the shape", () =>
      rejects(rawFile({ w: t([2], 0, 4) }, new Uint8Array(4)), /"w": 4 bytes of data but shape \[2\] of F32 needs 8/));
    it("should refuse end before begin", () => rejects(rawFile({ w: t([0], 4, 0) }, new Uint8Array(4)), /before begin/));
    it("should refuse gaps between tensors", () => rejects(rawFile({ a: t([1], 0, 4), b: t([1], 8, 12) }, new Uint8Array(12)), /"b": 4 unused bytes/));
    it("should refuse overlapping tensors", () => rejects(rawFile({ a: t([2], 0, 8), b: t([1], 4, 8) }, new Uint8Array(8)), /overlaps/));
    it("should refuse bytes after the last tensor", () => rejects(rawFile({ a: t([1], 0, 4) }, new Uint8Array(8)), /4 bytes after the last tensor/));
    it("should refuse a truncated data section", () => rejects(rawFile({ a: t([2], 0, 8) }, new Uint8Array(4)), /truncated/));
    it("should refuse duplicate tensor names", () =>
      rejects(
        rawFile(null, new Uint8Array(8), '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'),
        /"a" appears twice/,
      ));
    it("should not mistake metadata text for duplicate names", () => {
      const meta = { note: '{"a": {"dtype": 1}}, "a": {' };
      expect(parseSafetensors(rawFile({ __metadata__: meta, a: t([1], 0, 4) }, new Uint8Array(4))).metadata).toEqual(meta);
    });
  });
});
