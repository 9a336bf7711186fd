import { describe, expect, it } from "vitest";
import { limitsOf } from "../config";
import { encodeIdxImages } from "../data/idx";
import type { Body } from "./body";
import { readBinary, readJson, tensorImages } from "./input";
import { ProblemError } from "./problem";
import { refusal, TINY_SPEC } from "../../test/helpers";

const model = TINY_SPEC;
const limits = limitsOf({ MAX_BATCH: "3" });
const binary = (bytes: number[] | Uint8Array, more: Partial<Body> = {}): Body => ({
  bytes: Uint8Array.from(bytes),
  encoding: "identity",
  type: "application/octet-stream",
  ...more,
});

describe("readBinary", () => {
  it("should take N×D bytes as N images, scaled by the forward pass", () => {
    const read = readBinary(binary([0, 255, 0, 0, 9, 9, 9, 9]), model, limits);
    expect(read.batch).toEqual({ N: 2, pixels: Uint8Array.from([0, 255, 0, 0, 9, 9, 9, 9]), scale: 255 });
    expect(read).toMatchObject({ single: false, labelsOnly: true });
  });

  it("should take an IDX3 file's pixels, and pixels that only look like IDX when they are whole images", () => {
    const idx = readBinary(binary(encodeIdxImages(Uint8Array.from([1, 2, 3, 4]), 1, 2, 2)), model, limits).batch;
    expect(idx).toEqual({ N: 1, pixels: Uint8Array.from([1, 2, 3, 4]), scale: 255 });
    const wrongSize = refusal(() => readBinary(binary(encodeIdxImages(new Uint8Array(9), 1, 3, 3)), model, limits), ProblemError);
    expect(wrongSize.problem.detail).toBe("IDX images are 3x3; this model takes 2x2");
    expect(readBinary(binary([0, 0, 8, 3, 0, 0, 0, 1]), model, limits).batch).toMatchObject({ N: 2 });
  });

  it("should take whole images that start like gzip but did not inflate, and refuse anything else that did not", () => {
    expect(readBinary(binary([0x1f, 0x8b, 0, 0], { notGzip: "bad header" }), model, limits).batch.N).toBe(1);
    const e = refusal(() => readBinary(binary([0x1f, 0x8b, 0], { notGzip: "bad header" }), model, limits), ProblemError);
    expect(e.problem.detail).toBe(
      "the body starts like gzip (1f 8b) but does not inflate (bad header), and is not whole images of 4 bytes either; compress it again",
    );
  });

  it("should refuse an empty body, a partial image and too many images", () => {
    expect(refusal(() => readBinary(binary([]), model, limits), ProblemError).problem.detail).toBe("no images: the body is empty");
    expect(refusal(() => readBinary(binary([1, 2, 3]), model, limits), ProblemError).problem.detail).toMatch(/not a multiple of 4/);
    expect(refusal(() => readBinary(binary(new Uint8Array(16)), model, limits), ProblemError).status).toBe(413);
  });
});

describe("readJson", () => {
  it("should read one image or a batch, with the body's options", () => {
    const one = readJson(
      {
        input: [
          [0, 1],
          [0.5, 0],
        ],
        output: "logits",
      },
      model,
      limits,
    );
    expect(one).toMatchObject({ single: true, labelsOnly: false, options: { output: "logits" } });
    // v / scale of full ink, and this model takes full ink as 255 / input_scale = 1.
    expect(one.batch).toEqual({ N: 1, x: Float32Array.from([0, 1, 0.5, 0]) });
    const two = readJson(
      {
        inputs: [
          [0, 0, 0, 255],
          [255, 0, 0, 0],
        ],
        scale: 255,
        top_k: 1,
      },
      model,
      limits,
    );
    expect(two).toMatchObject({ single: false, options: { top_k: 1 } });
    expect(two.batch.N).toBe(2);
  });

  it("should want exactly one of input and inputs, and point at a bad value", () => {
    expect(refusal(() => readJson({}, model, limits), ProblemError).problem.detail).toMatch(/exactly one of "input"/);
    expect(refusal(() => readJson({ input: [0], inputs: [[0]] }, model, limits), ProblemError).problem.detail).toMatch(/exactly one of "input"/);
    expect(
      refusal(
        () =>
          readJson(
            {
              inputs: [
                [0, 0, 0, 0],
                [0, 2, 0, 0],
              ],
            },
            model,
            limits,
          ),
        ProblemError,
      ).problem.pointer,
    ).toBe("/inputs/1/1");
  });
});

describe("tensorImages", () => {
  it("should take [N, D], [N, rows, cols] and [N, 1, rows, cols], flat or nested", () => {
    const flat = tensorImages({ shape: [1, 4], datatype: "UINT8", data: [0, 255, 0, 0] }, model, limits, "/inputs/0");
    const nested = tensorImages(
      {
        shape: [1, 1, 2, 2],
        datatype: "FP32",
        data: [
          [
            [
              [0, 1],
              [0, 0],
            ],
          ],
        ],
      },
      model,
      limits,
      "/inputs/0",
    );
    expect(flat).toEqual(nested);
  });

  it("should point at a shape that is not a batch of the model's images", () => {
    const e = refusal(() => tensorImages({ shape: [1, 3], datatype: "FP32", data: [0, 0, 0] }, model, limits, "/inputs/0"), ProblemError);
    expect(e.problem.pointer).toBe("/inputs/0/shape");
    expect(e.problem.detail).toMatch(/\[N, 4\] or \[N, 2, 2\]/);
  });
});
