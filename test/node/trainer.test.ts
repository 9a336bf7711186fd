import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeModel } from "../../src/model/format";
import { datasetPresent, loadSplit, MNIST_DIR, type Split, skipWithoutData } from "../fixtures/datasets";
import { evaluate } from "../../scripts/lib/evaluate";
import { accuracyOn, type TrainOptions, train } from "../../scripts/lib/trainer";
import { HANDWRITTEN, NO_DISTORTION } from "../../scripts/lib/augment";
import { rng } from "../../src/nn/random";
import { affine } from "../../src/nn/affine";
import { encodeModel } from "../../src/model/format";
import { gradient, workspace } from "../../src/nn/backward";
import { forwardNaive } from "../reference";
import { initNetwork, trainingProduct } from "../../scripts/lib/trainer";

/** A learnable toy set: class c lights up a 4-row band at row 2c, plus noise; side×side images. */
function toySplit(count: number, seed: number, side = 28, classes = 10): Split {
  const r = rng(seed);
  const D = side * side;
  const pixels = new Uint8Array(count * D);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const c = Math.floor(r() * classes);
    labels[n] = c;
    for (let i = 0; i < D; i++) {
      const row = Math.floor(i / side);
      const ink = row >= 2 * c + 3 && row < 2 * c + 7 ? 200 : 0;
      pixels[n * D + i] = r() < 0.05 ? 255 : ink;
    }
  }
  return { count, pixels, labels };
}

const opts: TrainOptions = {
  hidden: [16],
  activation: "relu",
  epochs: 3,
  batch: 20,
  lr: 3e-3,
  lrMin: 1e-4,
  weightDecay: 1e-5,
  shift: 1,
  validation: 200,
  seed: 7,
};

describe("train", () => {
  const data = toySplit(1200, 1);

  it("should learn the toy set and report each epoch", () => {
    const reports: { epoch: number; loss: number; valAccuracy: number; etaSeconds: number }[] = [];
    const net = train(data, opts, (r) => reports.push(r));
    expect(reports.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(reports[2].loss).toBeLessThan(reports[0].loss);
    expect(reports[2].valAccuracy).toBeGreaterThan(0.9);
    expect(reports[2].etaSeconds).toBe(0);
    expect(
      accuracyOn(
        net,
        data,
        new Uint32Array(1200).map((_, i) => i),
      ),
    ).toBeGreaterThan(0.9);
  });

  it("should give bit-identical weights for the same seed, different ones for another", () => {
    const bytes = (seed: number) => train(data, { ...opts, epochs: 1, seed }).layers.map((l) => new Uint8Array(l.W.buffer.slice(0)));
    const a = bytes(7);
    expect(bytes(7)).toEqual(a);
    expect(bytes(8)).not.toEqual(a);
  });

  it("should go on training from a network's weights, and refuse one of other layers", () => {
    const first = train(data, { ...opts, epochs: 1 });
    // At a learning rate of 0 the starting weights stay as they are.
    const kept = train(data, { ...opts, epochs: 1, lr: 0, lrMin: 0, seed: 9 }, () => {}, first);
    expect(kept.layers.map((l) => Array.from(l.W))).toEqual(first.layers.map((l) => Array.from(l.W)));
    expect(kept.layers.map((l) => Array.from(l.b))).toEqual(first.layers.map((l) => Array.from(l.b)));
    expect(kept.layers[0].W).not.toBe(first.layers[0].W);
    // A random start at the same seed gives other weights.
    expect(Array.from(train(data, { ...opts, epochs: 1, lr: 0, lrMin: 0, seed: 9 }).layers[0].W)).not.toEqual(Array.from(first.layers[0].W));
    expect(() => train(data, { ...opts, hidden: [opts.hidden[0] + 1] }, () => {}, first)).toThrow(/layer 1 of the starting network is not the shape/);
    expect(() => train(data, { ...opts, activation: "sigmoid" }, () => {}, first)).toThrow(
      /layer 1 of the starting network is relu where these options build sigmoid/,
    );
  });

  it("should take the input size and class count from the data", () => {
    const small = toySplit(600, 2, 12, 3);
    const net = train(small, { ...opts, validation: 100, epochs: 2 });
    expect(net.layers.map((l) => [l.inSize, l.outSize])).toEqual([
      [144, 16],
      [16, 3],
    ]);
    expect(
      accuracyOn(
        net,
        small,
        new Uint32Array(600).map((_, i) => i),
      ),
    ).toBeGreaterThan(0.9);
  });

  it("should keep the random stream of runs without distortions, and distort reproducibly when asked", () => {
    const bytes = (o: TrainOptions) => train(data, { ...o, epochs: 1 }).layers.map((l) => new Uint8Array(l.W.buffer.slice(0)));
    const none = NO_DISTORTION;
    const plain = bytes(opts);
    expect(bytes({ ...opts, augment: none })).toEqual(plain);
    const distorted = { ...opts, augment: HANDWRITTEN };
    const a = bytes(distorted);
    expect(a).not.toEqual(plain);
    expect(bytes(distorted)).toEqual(a);
  });

  it("should learn a convolutional network, which serves as it trained", () => {
    const conv = [
      { filters: 4, kernel: 5 },
      { filters: 6, kernel: 3, pad: 1 },
    ];
    const reports: { valAccuracy: number }[] = [];
    const net = train(data, { ...opts, conv, epochs: 4 }, (r) => reports.push(r));
    // 28 → conv 5×5 → 24 → pool → 12 → conv 3×3 pad 1 → 12 → pool → 6: 6·6·6 inputs to the dense layer.
    expect(net.layers.map((l) => [l.inSize, l.outSize])).toEqual([
      [784, 4 * 12 * 12],
      [4 * 12 * 12, 6 * 6 * 6],
      [216, 16],
      [16, 10],
    ]);
    expect(reports[3].valAccuracy).toBeGreaterThan(0.9);
    // The file's network (decoded through the served backend) reads the images as training measured them.
    const served = decodeModel(encodeModel(net)).network.toNetwork();
    const all = new Uint32Array(1200).map((_, i) => i);
    expect(accuracyOn(served, data, all)).toBe(accuracyOn(net, data, all));
  });

  it("should give the same gradients through the Wasm kernel's product as through the JS one", () => {
    const net = initNetwork(
      [0, 12, 10],
      "relu",
      rng(3),
      [
        { filters: 5, kernel: 5 },
        { filters: 7, kernel: 3, pool: 1 },
      ],
      28,
    );
    const x = new Float32Array(8 * 784).map((_, i) => (data.pixels[i] > 0 ? data.pixels[i] / 255 : 0));
    const t = Array.from(data.labels.subarray(0, 8));
    const js = workspace(net, 8, affine);
    const wasm = workspace(net, 8, trainingProduct());
    expect(gradient(net, x, t, 8, wasm)).toBeCloseTo(gradient(net, x, t, 8, js), 5);
    wasm.grads.forEach((g, i) => {
      const scale = Math.max(...js.grads[i].dW.map(Math.abs));
      for (let k = 0; k < g.dW.length; k++) expect(Math.abs(g.dW[k] - js.grads[i].dW[k])).toBeLessThan(1e-4 * scale + 1e-7);
    });
    // And the forward pass it trains with is the reference's.
    const y = forwardNaive(net, x, 8);
    for (let k = 0; k < y.length; k++) expect(wasm.z[net.layers.length][k]).toBeCloseTo(y[k], 5);
  });

  it("should refuse a convolution stack that leaves no output", () => {
    expect(() =>
      initNetwork(
        [0, 10],
        "relu",
        rng(1),
        [
          { filters: 2, kernel: 5 },
          { filters: 2, kernel: 5 },
          { filters: 2, kernel: 5 },
        ],
        28,
      ),
    ).toThrow(/leaves no output/);
  });

  it("should restyle digits only when asked, reproducibly", () => {
    const bytes = (o: TrainOptions) => train(data, { ...o, epochs: 1 }).layers.map((l) => new Uint8Array(l.W.buffer.slice(0)));
    const plain = bytes(opts);
    const styled = { ...opts, styles: { restyle: 0.5, pen: 0.5 } };
    const a = bytes(styled);
    expect(a).not.toEqual(plain);
    expect(bytes(styled)).toEqual(a);
  });

  it("should read digits back through the service's preprocessing only when asked, reproducibly", () => {
    const bytes = (o: TrainOptions) => train(data, { ...o, epochs: 1 }).layers.map((l) => new Uint8Array(l.W.buffer.slice(0)));
    const plain = bytes(opts);
    const refitted = { ...opts, refit: 0.5 };
    const a = bytes(refitted);
    expect(a).not.toEqual(plain);
    expect(bytes(refitted)).toEqual(a);
  });

  it("should train the book's sigmoid network too", () => {
    const net = train(data, { ...opts, hidden: [50, 100], activation: "sigmoid", epochs: 2 });
    expect(net.layers.map((l) => l.activation)).toEqual(["sigmoid", "sigmoid", "softmax"]);
    expect(
      accuracyOn(
        net,
        data,
        new Uint32Array(200).map((_, i) => i),
      ),
    ).toBeGreaterThan(0.5);
  });
});

const mnist = datasetPresent("mnist", "train") && datasetPresent("mnist", "test");
describe("npm run train", () => {
  it.skipIf(skipWithoutData(mnist))(`should print progress and write the same file twice, command in its metadata (needs ${MNIST_DIR})`, () => {
    const dir = mkdtempSync(join(tmpdir(), "train-"));
    const run = (out: string) =>
      spawnSync(
        "npm",
        [
          "run",
          "--silent",
          "train",
          "--",
          "--model",
          "tiny",
          "--dataset",
          "mnist",
          "--hidden",
          "16",
          "--epochs",
          "2",
          "--limit",
          "2000",
          "--validation",
          "500",
          "--lr",
          "0.01",
          "--out",
          out,
        ],
        {
          encoding: "utf8",
        },
      );
    const a = run(join(dir, "a.safetensors"));
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/epoch 1\/2 {2}loss \d+\.\d{4} {2}val_acc 0\.\d{4} .* ETA /);
    expect(a.stderr).toMatch(/epoch 2\/2 /);
    expect(a.stdout).toMatch(/test accuracy/);
    const b = run(join(dir, "b.safetensors"));
    expect(b.status, b.stderr).toBe(0);
    const ma = decodeModel(readFileSync(join(dir, "a.safetensors")));
    const mb = decodeModel(readFileSync(join(dir, "b.safetensors")));
    const wb = mb.network.toNetwork().layers;
    ma.network.toNetwork().layers.forEach((l, i) => {
      expect(Buffer.from(l.W.buffer, l.W.byteOffset, l.W.byteLength).equals(Buffer.from(wb[i].W.buffer, wb[i].W.byteOffset, wb[i].W.byteLength))).toBe(true);
    });
    expect(ma.metadata.command).toBe(
      `npm run train -- --model tiny --dataset mnist --hidden 16 --epochs 2 --limit 2000 --validation 500 --lr 0.01 --out ${join(dir, "a.safetensors")}`,
    );
    expect(ma.metadata.seed).toBe("1");
    expect(Number(ma.metadata.test_accuracy)).toBeGreaterThan(0.6);
  });

  it.skipIf(skipWithoutData(mnist))(`should write I8 weights for --dtype int8, measured as stored (needs ${MNIST_DIR})`, () => {
    const out = join(mkdtempSync(join(tmpdir(), "train-")), "int8.safetensors");
    const args = ["--model", "tiny", "--dataset", "mnist", "--hidden", "16", "--epochs", "1", "--limit", "1000", "--validation", "200", "--dtype", "int8"];
    const r = spawnSync("npm", ["run", "--silent", "train", "--", ...args, "--out", out], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ tiny .*│ I8 /);
    const model = decodeModel(readFileSync(out));
    expect(model.dtype).toBe("I8");
    expect(model.metadata.test_correct).toBe(String(evaluate(model.network, loadSplit("mnist", "test"), 255).correct));
    const bad = spawnSync("npm", ["run", "--silent", "train", "--", ...args.slice(0, -1), "int4"], { encoding: "utf8" });
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/--dtype must be F32, F16 or int8, got "int4"/)]);
  });

  it.skipIf(skipWithoutData(mnist))(
    `should go on training from an --init file, keeping its command, and refuse one of other layers (needs ${MNIST_DIR})`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), "train-"));
      const tiny = ["--model", "tiny", "--dataset", "mnist", "--hidden", "16", "--epochs", "1", "--limit", "1000", "--validation", "200"];
      const run = (args: string[]) => spawnSync("npm", ["run", "--silent", "train", "--", ...args], { encoding: "utf8" });
      const first = run([...tiny, "--out", join(dir, "first.safetensors")]);
      expect(first.status, first.stderr).toBe(0);
      // At a learning rate of 0 the weights stay those of the --init file.
      const on = run([...tiny, "--lr", "0", "--lr-min", "0", "--init", join(dir, "first.safetensors"), "--out", join(dir, "on.safetensors")]);
      expect(on.status, on.stderr).toBe(0);
      const [a, b] = ["first", "on"].map((f) => decodeModel(readFileSync(join(dir, `${f}.safetensors`))));
      expect(b.network.toNetwork().layers.map((l) => [...l.W])).toEqual(a.network.toNetwork().layers.map((l) => [...l.W]));
      expect(b.metadata.init_command).toBe(a.metadata.command);
      expect(b.metadata.init_code_commit).toBe(a.metadata.code_commit);
      expect(b.metadata.command).toMatch(/--init .*first\.safetensors/);
      const other = run([...tiny.slice(0, 5), "32", ...tiny.slice(6), "--init", join(dir, "first.safetensors"), "--out", join(dir, "x.safetensors")]);
      expect([other.status, other.stderr]).toEqual([2, expect.stringMatching(/layer 1 of the starting network is not the shape these options build/)]);
      const chained = run([...tiny, "--init", join(dir, "on.safetensors"), "--out", join(dir, "y.safetensors")]);
      expect([chained.status, chained.stderr]).toEqual([2, expect.stringMatching(/was itself trained on from another file/)]);
      const missing = run([...tiny, "--init", join(dir, "none.safetensors")]);
      expect([missing.status, missing.stderr]).toEqual([2, expect.stringMatching(/--init: .*none\.safetensors not found/)]);
    },
  );

  it("should refuse --activation step: its gradient is zero everywhere", () => {
    const r = spawnSync("npm", ["run", "--silent", "train", "--", "--model", "x", "--hidden", "8", "--dataset", "mnist", "--activation", "step"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--activation step cannot be trained: its gradient is zero everywhere/);
  });

  it("should refuse bad options with a usage message", () => {
    const r = spawnSync("npm", ["run", "--silent", "train", "--", "--model", "x", "--hidden", "abc", "--dataset", "mnist"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--hidden must be positive integers/);
    expect(r.stderr).toMatch(/usage: npm run train/);
  });
});
