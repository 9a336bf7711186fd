// The weights importer (scripts/import.ts) and its readers
// (scripts/lib/sources.ts): book-style pickles and .npz, PyTorch-style
// safetensors. Fixture files are written by test/fixtures/ into a temp dir;
// nothing is written into weights/. The pickle reader's own tests are in
// scripts/lib/pickle.test.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../scripts/import";
import { BOOK_WEIGHTS, datasetPresent, loadSplit, skipWithoutData } from "../fixtures/datasets";
import { evaluate } from "../../scripts/lib/evaluate";
import { type NdArray, parseNpz } from "../../scripts/lib/npz";
import { loadPickledArrays } from "../../scripts/lib/pickle";
import { decodeModel, encodeModel } from "../../src/model/format";
import { JsBackend } from "../../src/nn/backends";
import { readSafetensorsHeader, serializeSafetensors } from "../../src/model/safetensors";
import type { Network } from "../../src/nn/network";
import { type Arr, bookArrays, randomArr } from "../fixtures/arrays";
import { npz } from "../fixtures/npy";
import { numpyPickle } from "../fixtures/pickle";
import { expectClose, forwardNaive, rand } from "../helpers";

const tmp = mkdtempSync(join(tmpdir(), "mnist-edge-import-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const enc = new TextEncoder();

const write = (name: string, bytes: Uint8Array) => {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};

/** Runs the CLI in-process; returns its exit code and output. */
function runImport(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

type Act = "sigmoid" | "relu" | "softmax" | "identity";
/**
 * What the source computes, read straight from its own arrays: w(i, k, j) is
 * layer i's weight from input k to output j, in the source's layout; through
 * the reference forward pass.
 */
function referenceForward(
  x: Float32Array,
  N: number,
  sizes: number[],
  w: (i: number, k: number, j: number) => number,
  b: (i: number, j: number) => number,
  acts: Act[],
): Float32Array {
  const net: Network = {
    layers: acts.map((activation, i) => {
      const [K, M] = [sizes[i], sizes[i + 1]];
      return {
        W: Float32Array.from({ length: K * M }, (_, at) => w(i, Math.floor(at / M), at % M)),
        b: Float32Array.from({ length: M }, (_, j) => b(i, j)),
        inSize: K,
        outSize: M,
        activation,
      };
    }),
  };
  return forwardNaive(net, x, N);
}

function randomInput(N: number, D = 784, seed = 3): Float32Array {
  const r = rand(seed);
  return new Float32Array(N * D).map(() => (r() + 1) / 2);
}

/** Checks the written file decodes and computes what the book-style arrays compute. */
function expectBookForward(outPath: string, arrays: [string, Arr][], acts: Act[] = ["sigmoid", "sigmoid", "softmax"]) {
  const model = decodeModel(readFileSync(outPath));
  const m = new Map(arrays);
  const L = arrays.length / 2;
  const sizes = [m.get("W1")!.shape[0], ...Array.from({ length: L }, (_, i) => m.get(`W${i + 1}`)!.shape[1])];
  expect(model.sizes).toEqual(sizes);
  expect(model.activations).toEqual(acts);
  const N = 4;
  const x = randomInput(N, sizes[0]);
  const want = referenceForward(
    x,
    N,
    sizes,
    (i, k, j) => m.get(`W${i + 1}`)!.data[k * sizes[i + 1] + j],
    (i, j) => m.get(`b${i + 1}`)!.data[j],
    acts,
  );
  expectClose(model.network.forward(x, N), want, 1e-4);
  return model;
}

// ---------------------------------------------------------------- numpy's own files

describe("numpy's own files", () => {
  const hasNumpy = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" }).status === 0;
  it.skipIf(!hasNumpy)("should read what numpy's own pickle.dump (protocols 2-5) and np.savez write (needs python3 with numpy)", () => {
    const dir = join(tmp, "numpy");
    const py = `
import numpy as np, pickle, os, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
W1 = rng.standard_normal((784, 5)).astype(np.float32); b1 = rng.standard_normal(5)
W2 = rng.standard_normal((5, 10)).astype(np.float32); b2 = rng.standard_normal(10).astype(np.float32)
arrays = {'W1': np.asfortranarray(W1), 'b1': b1, 'W2': W2.astype('>f4'), 'b2': b2}
for p in (2, 3, 4, 5):
    with open(f'{d}/p{p}.pkl', 'wb') as f: pickle.dump(arrays, f, protocol=p)
np.savez(f'{d}/stored.npz', **arrays); np.savez_compressed(f'{d}/deflated.npz', **arrays)
with open(f'{d}/ref.bin', 'wb') as f:
    for k in ('W1', 'b1', 'W2', 'b2'): f.write(np.ascontiguousarray(arrays[k], dtype='<f4').tobytes())
`;
    const r = spawnSync("python3", ["-c", py, dir], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const ref = new Float32Array(new Uint8Array(readFileSync(join(dir, "ref.bin"))).buffer);
    const shapes: Record<string, number[]> = { W1: [784, 5], b1: [5], W2: [5, 10], b2: [10] };
    const check = (got: Map<string, NdArray>) => {
      let at = 0;
      for (const k of ["W1", "b1", "W2", "b2"]) {
        const a = got.get(k)!;
        expect(a.shape, k).toEqual(shapes[k]);
        expect(Array.from(a.data), k).toEqual(Array.from(ref.subarray(at, at + a.data.length)));
        at += a.data.length;
      }
    };
    for (const p of [2, 3, 4, 5]) check(loadPickledArrays(new Uint8Array(readFileSync(join(dir, `p${p}.pkl`)))));
    for (const f of ["stored.npz", "deflated.npz"]) check(parseNpz(new Uint8Array(readFileSync(join(dir, f)))));
    const res = runImport(join(dir, "p2.pkl"), "--name", "numpy-p2", "--activations", "relu,softmax", "--out", join(dir, "out.safetensors"));
    expect(res.code, res.stderr).toBe(0);
  });
});

// ---------------------------------------------------------------- importer

describe("npm run import", () => {
  it("should import a book-style pickle into the weights contract with provenance", () => {
    const arrays = bookArrays();
    // Dict order shuffled and W1 Fortran-ordered, as in the book's own file.
    const shuffled: [string, Arr][] = [arrays[3], ["W1", { ...arrays[0][1], fortran: true }], ...arrays.slice(1, 3), ...arrays.slice(4)];
    const src = write("book-style.pkl", numpyPickle(shuffled, 3));
    const out = join(tmp, "book-style.safetensors");
    const res = runImport(src, "--name", "book-style", "--out", out);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/W1, b1/);
    expect(res.stdout).toMatch(/sigmoid,sigmoid,softmax assumed/);
    expect(res.stdout).toContain(`wrote ${out}`);
    const model = expectBookForward(out, arrays);
    expect(model.labels).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(model.inputShape).toEqual([28, 28]);
    expect(model.inputScale).toBe(255);
    expect(model.metadata).toMatchObject({
      name: "book-style",
      source: "book-style.pkl",
      source_format: "pickle",
      command: `npm run import -- ${src} --name book-style --out ${out}`,
    });
    expect(Date.parse(model.metadata.imported_at)).toBeGreaterThan(Date.parse("2020-01-01"));
  });

  it("should import protocol 2 pickles (bytes via _codecs.encode) with --activations", () => {
    const arrays = bookArrays(11);
    const out = join(tmp, "p2.safetensors");
    const res = runImport(write("p2.pkl", numpyPickle(arrays, 2)), "--name", "p2", "--activations", "relu,relu,identity", "--out", out);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/assumed/);
    expectBookForward(out, arrays, ["relu", "relu", "identity"]);
  });

  it("should import an .npz, stored or deflated, with float64 and Fortran-order arrays", () => {
    const arrays = bookArrays(21);
    const mixed: [string, Arr][] = arrays.map(([k, a], i) => [k, i === 0 ? { ...a, fortran: true } : i === 2 ? { ...a, data: Float64Array.from(a.data) } : a]);
    for (const level of [0, 6] as const) {
      const out = join(tmp, `npz${level}.safetensors`);
      const res = runImport(write(`w${level}.npz`, npz(mixed, level)), "--name", "npz", "--out", out);
      expect(res.code, res.stderr).toBe(0);
      const model = expectBookForward(out, arrays);
      expect(model.metadata.source_format).toBe("npz");
    }
  });

  /** nn.Sequential(Linear(784,12), ReLU(), Linear(12,7), ReLU(), Linear(7,10)) as a state_dict, [out, in]. */
  function torchStateDict(names: string[], order = names.map((_, i) => i)) {
    const sizes = [784, 12, 7, 10];
    const layers = names.map((_, i) => ({
      W: randomArr([sizes[i + 1], sizes[i]], 40 + i).data as Float32Array,
      b: randomArr([sizes[i + 1]], 50 + i).data as Float32Array,
    }));
    const tensors = order.flatMap((i) => [
      { name: `${names[i]}.weight`, shape: [sizes[i + 1], sizes[i]], data: layers[i].W },
      { name: `${names[i]}.bias`, shape: [sizes[i + 1]], data: layers[i].b },
    ]);
    return { sizes, layers, bytes: serializeSafetensors(tensors, { format: "pt" }) };
  }

  function expectTorchForward(outPath: string, sd: ReturnType<typeof torchStateDict>, acts: Act[] = ["relu", "relu", "softmax"]) {
    const model = decodeModel(readFileSync(outPath));
    const { sizes, layers } = sd;
    expect(model.activations).toEqual(acts);
    const N = 3;
    const x = randomInput(N);
    // PyTorch: y = x·Wᵀ + b with W [out, in].
    const want = referenceForward(
      x,
      N,
      sizes,
      (i, k, j) => layers[i].W[j * sizes[i] + k],
      (i, j) => layers[i].b[j],
      acts,
    );
    expectClose(model.network.forward(x, N), want, 1e-4);
    return model;
  }

  it("should import a PyTorch nn.Sequential state_dict, transposing [out, in] and ordering by index", () => {
    // Indices skip the ReLU modules (0, 2, 4) and the header lists them out of order.
    const sd = torchStateDict(["0", "2", "4"], [2, 0, 1]);
    const out = join(tmp, "torch.safetensors");
    const res = runImport(write("seq.safetensors", sd.bytes), "--name", "torch", "--out", out);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/0\.weight \(transposed\), 0\.bias/);
    expect(res.stdout).toMatch(/relu,relu,softmax assumed \(PyTorch MLPs usually use ReLU/);
    const model = expectTorchForward(out, sd);
    expect(model.metadata.source_format).toBe("torch-safetensors");
  });

  it("should order prefixed and named layers numerically (fc2 before fc10), else as listed", () => {
    const numbered = torchStateDict(["model.fc1", "model.fc2", "model.fc10"], [2, 0, 1]);
    const out1 = join(tmp, "fc.safetensors");
    expect(runImport(write("fc.safetensors", numbered.bytes), "--name", "fc", "--activations", "sigmoid,relu,softmax", "--out", out1).code).toBe(0);
    expectTorchForward(out1, numbered, ["sigmoid", "relu", "softmax"]);

    const named = torchStateDict(["hidden", "fc", "out"]);
    const out2 = join(tmp, "named.safetensors");
    const res = runImport(write("named.safetensors", named.bytes), "--name", "named", "--out", out2);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/layer order hidden, fc, out is the order of the file's header/);
    expectTorchForward(out2, named);
  });

  it("should accept a first layer other than 784 inputs and say input_shape is flat", () => {
    const arrays = bookArrays(31, [20, 5, 3]);
    const out = join(tmp, "small.safetensors");
    const res = runImport(write("small.npz", npz(arrays, 6)), "--name", "small", "--out", out);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/takes 20 inputs, not 784, so input_shape cannot be 28,28/);
    const model = expectBookForward(out, arrays, ["sigmoid", "softmax"]);
    expect(model.inputShape).toEqual([20]);
    expect(model.labels).toEqual(["0", "1", "2"]);
  });

  describe("should refuse, exit 2 and write nothing", () => {
    const cases: [string, () => [string, ...string[]], RegExp][] = [
      [
        "an unknown pickle global",
        () => [write("evil.pkl", new Uint8Array([0x80, 2, 0x63, ...enc.encode("posix\nsystem\n"), 0x58, 2, 0, 0, 0, 0x69, 0x64, 0x85, 0x52, 0x2e]))],
        /evil\.pkl: the pickle refers to posix\.system.*nothing was executed/,
      ],
      ["a W without its b", () => [write("nob.pkl", numpyPickle(bookArrays().slice(0, 3)))], /has W2 but no matching b2/],
      [
        "a key outside W1, b1, ...",
        () => [write("extra.npz", npz([...bookArrays(), ["mean", randomArr([784], 1)]], 0))],
        /holds an array "mean"; expected only W1, b1/,
      ],
      ["a gap in the layer numbers", () => [write("gap.pkl", numpyPickle(bookArrays().filter(([k]) => !k.endsWith("2"))))], /has W1, W3 but no W2/],
      ["a b without its W", () => [write("orphan.pkl", numpyPickle([...bookArrays(), ["b4", randomArr([3], 1)]]))], /has b4 but no matching W4/],
      [
        "shapes that do not chain",
        () => [
          write(
            "chain.pkl",
            numpyPickle([
              ["W1", randomArr([784, 50], 1)],
              ["b1", randomArr([50], 2)],
              ["W2", randomArr([60, 10], 3)],
              ["b2", randomArr([10], 4)],
            ]),
          ),
        ],
        /W2 \(60, 10\) takes 60 inputs but W1 gives 50; the layer shapes must chain/,
      ],
      [
        "a bias that does not match its weight",
        () => [
          write(
            "bias.pkl",
            numpyPickle([
              ["W1", randomArr([784, 10], 1)],
              ["b1", randomArr([9], 2)],
            ]),
          ),
        ],
        /b1 has shape \(9,\) but W1 \(784, 10\) gives 10 outputs/,
      ],
      [
        "non-finite weights",
        () => [
          write(
            "nan.pkl",
            numpyPickle([
              ["W1", randomArr([784, 10], 1)],
              ["b1", { shape: [10], data: new Float32Array(10).fill(Number.NaN) }],
            ]),
          ),
        ],
        /b1 holds a non-finite value \(NaN\)/,
      ],
      [
        "torch shapes that do not chain",
        () => [
          write(
            "tchain.safetensors",
            serializeSafetensors([
              { name: "0.weight", shape: [50, 784], data: new Float32Array(50 * 784) },
              { name: "0.bias", shape: [50], data: new Float32Array(50) },
              { name: "2.weight", shape: [10, 40], data: new Float32Array(400) },
              { name: "2.bias", shape: [10], data: new Float32Array(10) },
            ]),
          ),
        ],
        /"2\.weight" \[out, in\] = \[10,40\] takes 40 inputs but "0" gives 50/,
      ],
      [
        "torch tensors that are not Linear layers",
        () => [
          write(
            "bn.safetensors",
            serializeSafetensors([
              { name: "0.weight", shape: [10, 784], data: new Float32Array(7840) },
              { name: "0.bias", shape: [10], data: new Float32Array(10) },
              { name: "1.running_mean", shape: [10], data: new Float32Array(10) },
            ]),
          ),
        ],
        /"1\.running_mean" is not a "\.weight" or "\.bias"/,
      ],
      [
        "a torch Linear without bias",
        () => [write("nobias.safetensors", serializeSafetensors([{ name: "0.weight", shape: [10, 784], data: new Float32Array(7840) }]))],
        /no matching "0\.bias"; layers without a bias/,
      ],
      [
        "a file already in the contract",
        () => [
          write(
            "ours.safetensors",
            encodeModel({ layers: [{ W: new Float32Array(7840), b: new Float32Array(10), inSize: 784, outSize: 10, activation: "softmax" }] }),
          ),
        ],
        /already in this project's weights format/,
      ],
      [
        "too few --activations",
        () => [write("acts.pkl", numpyPickle(bookArrays())), "--activations", "relu,softmax"],
        /--activations lists 2 activations but the file has 3 layers/,
      ],
      ["an unknown activation", () => [write("acts2.pkl", numpyPickle(bookArrays())), "--activations", "relu,tanh,softmax"], /unknown activation "tanh"/],
      ["a missing file", () => [join(tmp, "absent.pkl")], /absent\.pkl not found/],
      ["an unknown extension", () => [write("w.json", enc.encode("{}"))], /cannot tell the format of w\.json/],
      ["a corrupt .npz", () => [write("bad.npz", enc.encode("PK not really a zip"))], /bad\.npz: not a readable zip archive/],
    ];
    for (const [what, args, message] of cases) {
      it(`should refuse ${what}`, () => {
        const out = join(tmp, "refused.safetensors");
        const [file, ...rest] = args();
        const res = runImport(file, "--name", "x", "--out", out, ...rest);
        expect(res.code).toBe(2);
        expect(res.stderr).toMatch(/^import: /);
        expect(res.stderr).toMatch(message);
        expect(existsSync(out)).toBe(false);
      });
    }
    it("should refuse a missing --name", () => {
      const res = runImport(write("noname.pkl", numpyPickle(bookArrays())));
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/^import: --name is required/);
    });
  });

  // Without --out it writes into the repository's weights/ (scripts/lib/paths.ts), which a test must not touch.
  it("should run as a CLI: --out relative to the current directory, exit 2 without a stack trace", () => {
    const cwd = mkdtempSync(join(tmp, "cli-"));
    const tsx = resolve("node_modules/tsx/dist/cli.mjs");
    const script = resolve("scripts/import.ts");
    const src = write("cli.pkl", numpyPickle(bookArrays(5), 3));
    const ok = spawnSync(process.execPath, [tsx, script, src, "--name", "cli", "--out", "weights/cli.safetensors"], { cwd, encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    const out = join(cwd, "weights", "cli.safetensors");
    expect(ok.stdout).toContain(`wrote ${out}`);
    expect(decodeModel(readFileSync(out)).metadata.command).toBe(`npm run import -- ${src} --name cli --out weights/cli.safetensors`);
    const bad = spawnSync(process.execPath, [tsx, script, join(tmp, "evil.pkl"), "--name", "evil"], { cwd, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^import: /);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  // The book's pretrained weights are never committed; the test finds them by path.
  const bookPath = process.env.BOOK_WEIGHTS ?? "../shared/data/book/sample_weight.pkl";
  const bookPresent = existsSync(BOOK_WEIGHTS) && datasetPresent("mnist", "test");
  it.skipIf(skipWithoutData(bookPresent))(`should reproduce 9352/10000 from the book's sample_weight.pkl (needs ${bookPath} and the MNIST test set)`, () => {
    const out = join(tmp, "book.safetensors");
    const res = runImport(BOOK_WEIGHTS, "--name", "book", "--out", out);
    expect(res.code, res.stderr).toBe(0);
    const model = decodeModel(readFileSync(out));
    expect([model.sizes, model.activations]).toEqual([
      [784, 50, 100, 10],
      ["sigmoid", "sigmoid", "softmax"],
    ]);
    expect(model.inputScale).toBe(255);
    expect(model.metadata.source).toBe("sample_weight.pkl");
    const ev = evaluate(model.network, loadSplit("mnist", "test"), 255);
    expect(ev.total).toBe(10000);
    expect(ev.correct).toBe(9352);
  });

  // The book's convolutional networks (ch. 7 and 8), float64 pickles: served,
  // they classify exactly what the book's own code does.
  const bookDir = resolve(BOOK_WEIGHTS, "..");
  for (const [file, correct, sizes] of [
    ["simple_convnet_params.pkl", 9600, [784, 4320, 100, 10]],
    ["deep_convnet_params.pkl", 9797, [784, 12544, 3136, 6272, 2048, 4096, 1024, 50, 10]],
  ] as const) {
    const path = join(bookDir, file);
    const present = existsSync(path) && datasetPresent("mnist", "test");
    it.skipIf(skipWithoutData(present))(
      `should reproduce ${correct}/10000 from the book's ${file} on every backend (needs ${path} and the MNIST test set)`,
      () => {
        const out = join(tmp, `${file}.safetensors`);
        const res = runImport(path, "--name", file, "--out", out);
        expect(res.code, res.stderr).toBe(0);
        expect(res.stdout).toMatch(/recognised as the book's/);
        const bytes = readFileSync(out);
        const split = loadSplit("mnist", "test");
        const wasm = decodeModel(bytes);
        expect(wasm.sizes).toEqual(sizes);
        expect(wasm.inputShape).toEqual([1, 28, 28]);
        expect(wasm.dtype).toBe("F32");
        expect(evaluate(wasm.network, split, 255).correct).toBe(correct);
        // The JS kernels too, on the first 500 images (all 10000 take minutes there): the same labels.
        const part = { ...split, count: 500 };
        expect([...evaluate(decodeModel(bytes, new JsBackend()).network, part, 255).labels]).toEqual([...evaluate(wasm.network, part, 255).labels]);
      },
    );
  }

  it("should import a PyTorch state_dict with Conv2d layers given --layers, and run it as the reference does", () => {
    const conv = randomArr([4, 1, 3, 3], 31);
    const fc = randomArr([10, 4 * 7 * 7], 32); // nn.Linear: [out, in]
    const path = write(
      "cnn.safetensors",
      serializeSafetensors([
        { name: "features.0.weight", shape: conv.shape, data: Float32Array.from(conv.data) },
        { name: "features.0.bias", shape: [4], data: Float32Array.from(randomArr([4], 33).data) },
        { name: "fc.weight", shape: fc.shape, data: Float32Array.from(fc.data) },
        { name: "fc.bias", shape: [10], data: Float32Array.from(randomArr([10], 34).data) },
      ]),
    );
    const missing = runImport(path, "--name", "cnn", "--out", join(tmp, "cnn-x.safetensors"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/give them with --layers/);
    const out = join(tmp, "cnn.safetensors.out");
    const res = runImport(path, "--name", "cnn", "--layers", '[{"type":"conv","pad":1,"pool":4},{"type":"dense"}]', "--out", out);
    expect(res.code, res.stderr).toBe(0);
    const model = decodeModel(readFileSync(out));
    expect(model.sizes).toEqual([784, 196, 10]);
    expect(JSON.parse(model.metadata.layers)).toEqual([{ type: "conv", stride: 1, pad: 1, pool: 4 }, { type: "dense" }]);
    const net = model.network.toNetwork();
    expect([...net.layers[0].W]).toEqual([...conv.data]);
    const x = new Float32Array(2 * 784).map((_, i) => (i % 7) / 7);
    expectClose(model.network.forward(x, 2), forwardNaive(net, x, 2), 1e-5);
    const bad = runImport(path, "--name", "cnn", "--layers", '[{"type":"dense"},{"type":"dense"}]', "--out", out);
    expect(bad.stderr).toMatch(/--layers\[0\] says dense but features\.0\.weight has shape \[4,1,3,3\]/);

    // --dtype int8: one scale per filter and per output column, the same network as the F32 file, quantised.
    const int8 = join(tmp, "cnn-int8.safetensors");
    const q = runImport(path, "--name", "cnn", "--layers", '[{"type":"conv","pad":1,"pool":4},{"type":"dense"}]', "--dtype", "int8", "--out", int8);
    expect(q.code, q.stderr).toBe(0);
    const qbytes = readFileSync(int8);
    const header = readSafetensorsHeader(qbytes);
    expect(header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual(
      expect.arrayContaining([
        ["layers.0.weight", "I8", [4, 1, 3, 3]],
        ["layers.0.weight_scale", "F32", [4]],
        ["layers.1.weight", "I8", [196, 10]],
        ["layers.1.weight_scale", "F32", [10]],
      ]),
    );
    const qmodel = decodeModel(qbytes);
    expect([qmodel.dtype, qmodel.parameters]).toEqual(["I8", model.parameters]);
    const qnet = qmodel.network.toNetwork();
    expect([...qnet.layers[1].b]).toEqual([...net.layers[1].b]); // biases stay F32
    expect([...qnet.layers[0].W]).toEqual([...encodedI8(net).layers[0].W]);
    expect(runImport(path, "--name", "cnn", "--dtype", "int4", "--out", int8).stderr).toMatch(/--dtype must be F32, F16 or int8, got "int4"/);
  });
});

/** A network through encodeModel's I8 and back: what an int8 import must hold. */
const encodedI8 = (net: Network) => decodeModel(encodeModel(net, { dtype: "I8", labels: Array.from({ length: 10 }, (_, i) => String(i)) })).network.toNetwork();
