import { describe, expect, it } from "vitest";
import { concat, GzipError, inflate, isGzip } from "./encoding";
import { ProblemError } from "./problem";
import { gzip } from "../../test/http";

const text = (s: string) => new TextEncoder().encode(s);

describe("isGzip", () => {
  it("should look at the first two bytes only", () => {
    expect(isGzip(new Uint8Array([0x1f, 0x8b]))).toBe(true);
    expect(isGzip(new Uint8Array([0x1f]))).toBe(false);
    expect(isGzip(new Uint8Array([0x8b, 0x1f, 8]))).toBe(false);
  });
});

describe("inflate", () => {
  it("should inflate one member", async () => {
    expect(await inflate(await gzip(text("hello, gzip")), 100)).toEqual(text("hello, gzip"));
  });

  it("should inflate several members, concatenated (RFC 1952 §2.2)", async () => {
    const body = concat([await gzip(text("first ")), await gzip(text("second ")), await gzip(text("third"))]);
    expect(new TextDecoder().decode(await inflate(body, 100))).toBe("first second third");
  });

  it("should refuse output past the limit with a 413, one member or several", async () => {
    const zeros = new Uint8Array(10_000);
    const one = await inflate(await gzip(zeros), 9_999).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(ProblemError);
    expect((one as ProblemError).status).toBe(413);
    const two = await inflate(concat([await gzip(zeros.subarray(0, 6000)), await gzip(zeros.subarray(6000))]), 9_999).catch((e: unknown) => e);
    expect((two as ProblemError).status).toBe(413);
    expect(await inflate(await gzip(zeros), 10_000)).toHaveLength(10_000);
  });

  it("should throw GzipError for data that is not gzip, or is cut short", async () => {
    const z = await gzip(text("a body long enough to be cut short somewhere in the middle"));
    for (const bad of [z.subarray(0, z.length - 6), new Uint8Array([0x1f, 0x8b, 1, 2, 3])]) {
      const e = await inflate(bad, 1000).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(GzipError);
      expect((e as Error).message.length).toBeGreaterThan(0);
    }
  });
});
