// The safe pickle reader: numpy-style pickles of every protocol read, and
// anything that would execute code refused before it runs.
import { describe, expect, it } from "vitest";
import { type Arr, randomArr } from "../../test/fixtures/arrays";
import { numpyPickle, PickleWriter } from "../../test/fixtures/pickle";
import { loadPickledArrays, PickleError } from "./pickle";

const enc = new TextEncoder();

describe("pickle reader", () => {
  const arrays: [string, Arr][] = [
    ["W1", { ...randomArr([3, 4], 1), fortran: true }],
    ["b1", randomArr([4], 2, true)],
    ["W2", randomArr([4, 2], 3)],
  ];

  for (const protocol of [2, 3, 5] as const) {
    it(`should read a numpy-style protocol ${protocol} pickle of float32/float64, C and Fortran order arrays`, () => {
      const got = loadPickledArrays(numpyPickle(arrays, protocol));
      expect([...got.keys()]).toEqual(["W1", "b1", "W2"]);
      for (const [k, a] of arrays) {
        const array = got.get(k);
        expect(array?.shape).toEqual(a.shape);
        expect(Array.from(array?.data ?? [])).toEqual(Array.from(Float32Array.from(a.data)));
      }
    });
  }

  it("should refuse a global outside the numpy allow-list without executing anything", () => {
    // pickle.dumps(os.system, ("echo hi",)) as a REDUCE: GLOBAL 'os system', 'echo hi', TUPLE1, REDUCE, STOP
    const evil = new Uint8Array([0x80, 2, 0x63, ...enc.encode("os\nsystem\n"), 0x58, 7, 0, 0, 0, ...enc.encode("echo hi"), 0x85, 0x52, 0x2e]);
    expect(() => loadPickledArrays(evil)).toThrow(PickleError);
    expect(() => loadPickledArrays(evil)).toThrow(/os\.system.*refuses.*nothing was executed/);
    // The same through STACK_GLOBAL (protocol 4+), and a plausible-looking numpy name.
    const stackGlobal = new Uint8Array([0x80, 4, 0x8c, 8, ...enc.encode("builtins"), 0x8c, 4, ...enc.encode("eval"), 0x93, 0x2e]);
    expect(() => loadPickledArrays(stackGlobal)).toThrow(/builtins\.eval/);
    const scalar = new Uint8Array([0x80, 2, 0x63, ...enc.encode("numpy.core.multiarray\nscalar\n"), 0x2e]);
    expect(() => loadPickledArrays(scalar)).toThrow(/numpy\.core\.multiarray\.scalar/);
  });

  it("should refuse object-building opcodes, truncated streams and non-dict roots", () => {
    expect(() => loadPickledArrays(new Uint8Array([0x80, 2, 0x81, 0x2e]))).toThrow(/NEWOBJ/);
    const full = numpyPickle(arrays, 3);
    expect(() => loadPickledArrays(full.subarray(0, full.length - 40))).toThrow(/truncated/);
    expect(() => loadPickledArrays(new Uint8Array([0x80, 2, 0x5d, 0x2e]))).toThrow(/holds a list; expected a dict/);
    expect(() => loadPickledArrays(enc.encode("(dp0\n."))).toThrow(/not a binary pickle/);
  });

  it("should refuse arrays that are not floats", () => {
    const w = new PickleWriter(3);
    w.op(0x7d, 0x28)
      .str("W1")
      .global("numpy.core.multiarray", "_reconstruct")
      .global("numpy", "ndarray")
      .int(0)
      .op(0x85)
      .pyBytes(enc.encode("b"))
      .op(0x87, 0x52);
    w.op(0x28).int(1).shape([2]).global("numpy", "dtype").str("i8").op(0x89, 0x88, 0x87, 0x52);
    w.op(0x28).int(3).str("<").op(0x4e, 0x4e, 0x4e).int(0).int(0).int(0).op(0x74, 0x62);
    w.op(0x89).pyBytes(new Uint8Array(16)).op(0x74, 0x62, 0x75);
    expect(() => loadPickledArrays(w.done())).toThrow(/array "W1": dtype "i8" is not a float type/);
  });
});
