import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argmax, identity, relu, sigmoid, softmax, step } from "./functions";

const f32 = (...v: number[]) => new Float32Array(v);

describe("activations", () => {
  it("should match hand-computed values", () => {
    expect([...step(f32(-1, 0, 0.5, 2))]).toEqual([0, 0, 1, 1]);
    expect([...relu(f32(-1, 0, 0.5, 2))]).toEqual([0, 0, 0.5, 2]);
    expect([...identity(f32(-1, 3))]).toEqual([-1, 3]);
    const s = sigmoid(f32(-1, 0, 1));
    expect(s[0]).toBeCloseTo(0.2689414, 6);
    expect(s[1]).toBe(0.5);
    expect(s[2]).toBeCloseTo(0.7310586, 6);
  });

  it("should saturate sigmoid without NaN at ±1e30", () => {
    expect([...sigmoid(f32(-1e30, 1e30))]).toEqual([0, 1]);
  });
});

describe("softmax", () => {
  it("should give the book's values for [0.3, 2.9, 4.0]", () => {
    const y = softmax(f32(0.3, 2.9, 4.0));
    expect(y[0]).toBeCloseTo(0.01821127, 6);
    expect(y[1]).toBeCloseTo(0.24519181, 6);
    expect(y[2]).toBeCloseTo(0.73659691, 6);
  });

  it("should not overflow for [1010, 1000, 990]", () => {
    const y = softmax(f32(1010, 1000, 990));
    expect(y[0]).toBeCloseTo(0.99995, 5);
    expect(y[1] / 4.54e-5).toBeCloseTo(1, 2);
    expect(y[2] / 2.06e-9).toBeCloseTo(1, 2);
  });

  it("should give no NaN for ±1e30, all-equal or infinite logits", () => {
    for (const row of [f32(1e30, -1e30, 0), f32(-1e30, -1e30), f32(7, 7, 7, 7), f32(Infinity, 0), f32(-Infinity, -Infinity)]) {
      const y = softmax(row);
      expect(y.every((v) => Number.isFinite(v))).toBe(true);
      expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    expect([...softmax(f32(7, 7, 7, 7))]).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  const logits = fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 20 });

  it("should sum to 1 and stay in [0, 1] for any finite row", () => {
    fc.assert(
      fc.property(logits, (v) => {
        const y = softmax(new Float32Array(v));
        expect(y.every((p) => p >= 0 && p <= 1)).toBe(true);
        expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      }),
    );
  });

  it("should be unchanged by adding a constant to every logit", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }), fc.integer({ min: -1000, max: 1000 }), (v, c) => {
        const a = softmax(new Float32Array(v));
        const b = softmax(new Float32Array(v.map((x) => x + c)));
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
      }),
    );
  });

  it("should keep the arg-max of its input (why output=label may skip it)", () => {
    fc.assert(
      fc.property(logits, (v) => {
        const x = new Float32Array(v);
        const before = argmax(x)[0];
        const y = softmax(new Float32Array(x));
        expect(y[argmax(y)[0]]).toBe(y[before]);
      }),
    );
  });

  it("should treat each row of a batch on its own", () => {
    const y = softmax(f32(1, 2, 3, 1000, 1000, 1000), 3);
    const first = softmax(f32(1, 2, 3));
    expect([...y.subarray(0, 3)]).toEqual([...first]);
    expect(y[3]).toBeCloseTo(1 / 3, 6);
  });
});
