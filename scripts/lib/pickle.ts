// A minimal, safe reader for Python pickles (protocols 2 to 5) of the one
// shape a weights file takes: `pickle.dump({name: np.ndarray, ...})`.
//
// Nothing is ever executed. The stream is interpreted by a small stack
// machine that knows a fixed list of opcodes, and GLOBAL/STACK_GLOBAL may only
// name the handful of numpy/codec callables numpy itself emits for arrays:
//   numpy.core.multiarray._reconstruct / numpy._core.multiarray._reconstruct,
//   numpy.ndarray, numpy.dtype,
//   _codecs.encode          (protocol 2 stores bytes as encode(str, "latin1")),
//   numpy.core.numeric._frombuffer / numpy._core.numeric._frombuffer
//                           (protocol 5 stores array data in-band this way),
//   builtins.bytes          (protocol 2 stores an empty bytes as bytes()).
// Each is interpreted here by name, not called; any other global is refused.
import { floatDtype, makeArray, type NdArray } from "./npz";

/** A pickle this reader cannot or will not read; the message says why. */
export class PickleError extends Error {
  override name = "PickleError";
}

class PyTuple {
  constructor(readonly items: unknown[]) {}
}
class PyDict {
  readonly map = new Map<unknown, unknown>();
}
class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly kind: GlobalKind,
  ) {}
  toString() {
    return `${this.module}.${this.name}`;
  }
}
class PyDtype {
  byteorder?: string;
  constructor(readonly descr: string) {}
}
/** An ndarray as numpy pickles it; decoded to floats only when asked, so errors can name the key. */
class PyArray {
  state?: { shape: number[]; dtype: PyDtype; fortran: boolean; raw: Uint8Array };
}

type GlobalKind = "reconstruct" | "ndarray" | "dtype" | "encode" | "frombuffer" | "bytes";
const ALLOWED: Record<string, GlobalKind> = {
  "numpy.core.multiarray _reconstruct": "reconstruct",
  "numpy._core.multiarray _reconstruct": "reconstruct",
  "numpy ndarray": "ndarray",
  "numpy dtype": "dtype",
  "_codecs encode": "encode",
  "numpy.core.numeric _frombuffer": "frombuffer",
  "numpy._core.numeric _frombuffer": "frombuffer",
  "__builtin__ bytes": "bytes",
  "builtins bytes": "bytes",
};

// Opcodes refused by name, so the error says what was found. Keys are
// written in hex, as the pickle protocol's own tables write them.
const REFUSED: Record<number, string> = {
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x69: "INST",
  0x6f: "OBJ",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
  0x49: "INT",
  0x4c: "LONG",
  0x46: "FLOAT",
  0x53: "STRING",
  0x56: "UNICODE",
  0x8b: "LONG4",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
};

// Not TextDecoder("latin1"): WHATWG maps that label to windows-1252.
const latin1 = { decode: (b: Uint8Array) => Array.from(b, (c) => String.fromCharCode(c)).join("") };
// ignoreBOM: a Python str keeps a leading U+FEFF.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A Python str: pickled `str`, or (from Python 2 pickles) `bytes` read as latin-1. */
function asString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return latin1.decode(v);
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof PyDict) return "a dict";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (v instanceof PyGlobal) return `the callable ${v}`;
  if (v instanceof PyDtype) return `a numpy dtype`;
  if (v instanceof PyArray) return "a numpy array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Interprets a pickle stream and returns its value: dicts as PyDict, tuples
 * as PyTuple, numpy arrays as PyArray (see loadPickledArrays for the public,
 * decoded form). Throws PickleError on anything outside the allowed subset.
 */
function unpickle(bytes: Uint8Array): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let opAt = 0;

  const fail = (msg: string): never => {
    throw new PickleError(`${msg} (at byte ${opAt})`);
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.byteLength) fail(`the pickle is truncated: an opcode needs ${n} more bytes than the file holds`);
  };
  /** Moves past n bytes, checked, and gives where they start. */
  const advance = (n: number) => {
    need(n);
    pos += n;
    return pos - n;
  };
  const u8 = () => bytes[advance(1)];
  const u16 = () => dv.getUint16(advance(2), true);
  const u32 = () => dv.getUint32(advance(4), true);
  const i32 = () => dv.getInt32(advance(4), true);
  const u64 = () => {
    const n = dv.getBigUint64(advance(8), true);
    if (n > BigInt(bytes.byteLength)) fail(`a length of ${n} bytes runs past the end of the file`);
    return Number(n);
  };
  const take = (n: number) => {
    const at = advance(n);
    return bytes.slice(at, at + n); // a copy: aligned, and independent of the input
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("the pickle is truncated: a text argument has no end of line");
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const text = (n: number) => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail("a string is not valid UTF-8");
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail("the pickle is corrupt: it pops from an empty stack");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("the pickle is corrupt: it reads an empty stack");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    stack = marks.pop() ?? fail("the pickle is corrupt: no MARK to pop to");
    return items;
  };
  const put = (i: number) => memo.set(i, top());
  const get = (i: number) => {
    if (!memo.has(i)) fail(`the pickle is corrupt: memo entry ${i} is read before it is written`);
    stack.push(memo.get(i));
  };
  const global = (module: string, name: string): PyGlobal => {
    const kind = ALLOWED[`${module} ${name}`];
    if (!kind)
      fail(
        `the pickle refers to ${module}.${name}, which this reader refuses: only a dict of numpy arrays can be imported ` +
          `(allowed: numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype, _codecs.encode, numpy.core.numeric._frombuffer); nothing was executed`,
      );
    return new PyGlobal(module, name, kind);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof PyDict)) fail(`SETITEM(S) on ${describe(dict)}; only dicts are supported`);
    if (items.length % 2) fail("the pickle is corrupt: SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (!(typeof k === "string" || typeof k === "number" || k instanceof Uint8Array))
        fail(`a dict key is ${describe(k)}; only str and int keys are supported`);
      (dict as PyDict).map.set(k instanceof Uint8Array ? latin1.decode(k) : k, items[i + 1]);
    }
  };
  const shapeOf = (v: unknown, what: string): number[] => {
    if (!(v instanceof PyTuple) || !v.items.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0))
      return fail(`${what} is ${describe(v)}, not a tuple of sizes`);
    return v.items as number[];
  };

  const reduce = (fn: unknown, argsValue: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) return fail(`REDUCE calls ${describe(fn)}; only the allowed numpy callables can be called`);
    if (!(argsValue instanceof PyTuple)) return fail(`REDUCE of ${fn} with ${describe(argsValue)} as arguments, not a tuple`);
    const args = argsValue.items;
    switch (fn.kind) {
      case "reconstruct": {
        // _reconstruct(ndarray, (0,), b"b"): an empty array that BUILD fills.
        if (!(args[0] instanceof PyGlobal) || args[0].kind !== "ndarray")
          fail(`${fn} is asked to build ${describe(args[0])}; only numpy.ndarray is supported (not subclasses such as np.matrix)`);
        return new PyArray();
      }
      case "dtype": {
        const descr = asString(args[0]);
        if (descr === undefined) fail(`numpy.dtype(${describe(args[0])}) is not a simple dtype`);
        return new PyDtype(descr as string);
      }
      case "encode": {
        // Protocol 2 pickles bytes as _codecs.encode(str, "latin1").
        const s = args[0];
        const enc = asString(args[1]) ?? "utf-8";
        if (typeof s !== "string" || !/^latin[-_]?1$/i.test(enc))
          fail(`_codecs.encode(${describe(s)}, ${JSON.stringify(enc)}) is not the latin-1 bytes numpy writes`);
        const str = s as string;
        const out = new Uint8Array(str.length);
        for (let i = 0; i < str.length; i++) {
          const c = str.charCodeAt(i);
          if (c > 0xff) fail("_codecs.encode: a character above U+00FF cannot be latin-1");
          out[i] = c;
        }
        return out;
      }
      case "bytes":
        if (args.length !== 0) fail("builtins.bytes is only supported without arguments (the empty bytes of protocol 2)");
        return new Uint8Array(0);
      case "frombuffer": {
        // Protocol 5: _frombuffer(buffer, dtype, shape, order).
        const [buf, dtype, shape, order] = args;
        if (!(buf instanceof Uint8Array)) fail(`${fn} got ${describe(buf)} as its buffer`);
        if (!(dtype instanceof PyDtype)) fail(`${fn} got ${describe(dtype)} as its dtype`);
        const o = asString(order);
        if (o !== "C" && o !== "F") fail(`${fn} got order ${describe(order)}; expected "C" or "F"`);
        const arr = new PyArray();
        arr.state = { shape: shapeOf(shape, "the array shape"), dtype: dtype as PyDtype, fortran: o === "F", raw: buf as Uint8Array };
        return arr;
      }
      default:
        return fail(`${fn} cannot be called; it is only allowed as an argument`);
    }
  };

  const build = (obj: unknown, state: unknown) => {
    if (obj instanceof PyDtype) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
      if (!(state instanceof PyTuple)) return fail(`the dtype state is ${describe(state)}, not a tuple`);
      const [, byteorder, subarray, names] = state.items;
      if (subarray != null || names != null) fail(`dtype "${obj.descr}" is structured or a sub-array; only plain float arrays are supported`);
      obj.byteorder = asString(byteorder);
      return;
    }
    if (obj instanceof PyArray) {
      // (version, shape, dtype, is_fortran, data), or without the version in old numpy.
      if (!(state instanceof PyTuple)) return fail(`the array state is ${describe(state)}, not a tuple`);
      const items = state.items.length === 5 ? state.items.slice(1) : state.items;
      if (items.length !== 4) fail(`the array state is a tuple of ${state.items.length}; expected (version, shape, dtype, is_fortran, data)`);
      const [shape, dtype, fortran, data] = items;
      if (!(dtype instanceof PyDtype)) return fail(`the array dtype is ${describe(dtype)}`);
      if (Array.isArray(data)) fail(`an array of dtype "${dtype.descr}" holds Python objects; only float arrays are supported`);
      const raw =
        data instanceof Uint8Array
          ? data
          : typeof data === "string"
            ? Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)
            : fail(`the array data is ${describe(data)}, not bytes`);
      obj.state = { shape: shapeOf(shape, "the array shape"), dtype, fortran: fortran === true || fortran === 1, raw };
      return;
    }
    fail(`BUILD on ${describe(obj)}; only numpy arrays and dtypes can be built`);
  };

  if (bytes[0] === 0x50 && bytes[1] === 0x4b)
    throw new PickleError(
      "this is a zip archive, not a pickle (a torch.save file or an .npz?); save PyTorch weights with safetensors, or give an .npz the .npz extension",
    );
  if (bytes[0] !== 0x80)
    throw new PickleError("not a binary pickle (protocol 2-5 pickles start with byte 0x80); write it with pickle.dump(obj, f, protocol=2 or higher)");

  for (;;) {
    opAt = pos;
    if (pos >= bytes.byteLength) fail("the pickle is truncated: it ends without STOP");
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto < 2 || proto > 5) fail(`pickle protocol ${proto} is not supported (2 to 5 are)`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail("the pickle is corrupt: STOP with items left on the stack");
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (a Python 2 str: bytes)
        stack.push(take(u8()));
        break;
      case 0x54: {
        // BINSTRING
        const n = i32();
        if (n < 0) fail("the pickle is corrupt: BINSTRING with a negative length");
        stack.push(take(n));
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: {
        // TUPLE
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`APPEND to ${describe(list)}, not a list`);
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail(`APPENDS to ${describe(list)}, not a list`);
        (list as unknown[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x70: // PUT (text)
        put(Number.parseInt(line(), 10));
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x67: // GET (text)
        get(Number.parseInt(line(), 10));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      default: {
        const name = REFUSED[op];
        fail(
          name
            ? `opcode ${name} is not supported: this reader only reads a pickled dict of numpy arrays (no objects, no persistent ids)`
            : `unknown opcode 0x${op.toString(16).padStart(2, "0")}; the file is not a pickle or is corrupt`,
        );
      }
    }
  }
}

/**
 * Reads `pickle.dump({name: np.ndarray, ...})` output: a dict from string
 * keys to float16/32/64 numpy arrays, returned as float32 arrays in C order,
 * in the dict's order. Throws PickleError otherwise.
 */
export function loadPickledArrays(bytes: Uint8Array): Map<string, NdArray> {
  const root = unpickle(bytes);
  if (!(root instanceof PyDict)) throw new PickleError(`the pickle holds ${describe(root)}; expected a dict of numpy arrays such as {"W1": ..., "b1": ...}`);
  const out = new Map<string, NdArray>();
  for (const [k, v] of root.map) {
    const key = String(k);
    if (!(v instanceof PyArray) || !v.state) throw new PickleError(`key "${key}" holds ${describe(v)}, not a numpy array`);
    const { shape, dtype, fortran, raw } = v.state;
    const what = `array "${key}"`;
    try {
      out.set(key, makeArray(raw, shape, floatDtype(dtype.descr, dtype.byteorder), fortran, what));
    } catch (e) {
      throw new PickleError(String((e as Error).message).startsWith(what) ? (e as Error).message : `${what}: ${(e as Error).message}`);
    }
  }
  return out;
}
