// A convolutional model served through every body kind and batch size of
// /v1 and /v2, held to the reference forward pass (test/reference.ts).
import { encode as encodePng } from "fast-png";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { decodeModel, encodeModel } from "../../src/model/format";
import { ModelRegistry } from "../../src/model/registry";
import type { Network } from "../../src/nn/network";
import { forwardNaive, rand } from "../reference";

/** 1×28×28 → conv 4×3×3 pad 1, ReLU, pool 2 → conv 6×4×3×3 stride 2, ReLU → dense 216→10 softmax (input × 0.5). */
function cnn(): Network {
  const r = rand(7);
  const vals = (n: number, k: number) => new Float32Array(n).map(() => r() * k);
  return {
    layers: [
      {
        W: vals(36, 0.5),
        b: vals(4, 0.1),
        inSize: 784,
        outSize: 4 * 14 * 14,
        activation: "relu",
        conv: { C: 1, IH: 28, IW: 28, F: 4, KH: 3, KW: 3, stride: 1, pad: 1 },
        pool: 2,
      },
      {
        W: vals(216, 0.3),
        b: vals(6, 0.1),
        inSize: 784,
        outSize: 6 * 6 * 6,
        activation: "relu",
        conv: { C: 4, IH: 14, IW: 14, F: 6, KH: 3, KW: 3, stride: 2, pad: 0 },
      },
      { W: vals(2160, 0.3), b: vals(10, 0.1), inSize: 216, outSize: 10, activation: "softmax", scale: 0.5 },
    ],
  };
}

const net = cnn();
const bytes = encodeModel(net);
const app = createApp(new ModelRegistry({ cnn: bytes.slice().buffer }, "cnn"));
const call = (path: string, init?: RequestInit) => app.request(`http://localhost${path}`, init);
const post = (body: BodyInit, type: string): RequestInit => ({ method: "POST", headers: { "Content-Type": type }, body });

const N = 3;
const pixels = new Uint8Array(N * 784).map((_, i) => ((i * 37) % 11 < 3 ? (i * 53) % 256 : 0));
const x = new Float32Array(pixels.length).map((_, i) => pixels[i] / 255);
const want = forwardNaive(net, x, N);
const rows = (n: number) => Array.from(x.subarray(n * 784, (n + 1) * 784));

function close(got: number[], from: number): void {
  got.forEach((p, j) => {
    expect(Math.abs(p - want[from * 10 + j])).toBeLessThan(1e-5);
  });
}

describe("a convolutional model over HTTP", () => {
  it("should describe its input as channels × rows × columns, and a convolution per layer", async () => {
    expect(decodeModel(bytes).inputShape).toEqual([1, 28, 28]);
    const meta = (await (await call("/v2/models/cnn")).json()) as { inputs: { shape: number[] }[] };
    expect(meta.inputs[0].shape).toEqual([-1, 1, 28, 28]);
    const card = (await (await call("/v1/models/cnn")).json()) as { input_shape: number[]; metadata: Record<string, string> };
    expect(card.input_shape).toEqual([1, 28, 28]);
    expect(JSON.parse(card.metadata.layers)[0]).toEqual({ type: "conv", stride: 1, pad: 1, pool: 2 });
  });

  it("should answer /v1/predict for one image (flat and as rows), a batch, raw bytes and a PNG", async () => {
    const one = (await (await call("/v1/predict", post(JSON.stringify({ input: rows(0) }), "application/json"))).json()) as { probabilities: number[] };
    close(one.probabilities, 0);
    const nested = Array.from({ length: 28 }, (_, r) => rows(1).slice(r * 28, r * 28 + 28));
    close(
      ((await (await call("/v1/predict", post(JSON.stringify({ input: nested }), "application/json"))).json()) as { probabilities: number[] }).probabilities,
      1,
    );
    const batch = (await (await call("/v1/predict", post(JSON.stringify({ inputs: [0, 1, 2].map(rows) }), "application/json"))).json()) as {
      predictions: { probabilities: number[] }[];
    };
    batch.predictions.forEach((p, n) => {
      close(p.probabilities, n);
    });
    const raw = (await (await call("/v1/predict", post(pixels, "application/octet-stream"))).json()) as { predictions: { probabilities: number[] }[] };
    raw.predictions.forEach((p, n) => {
      close(p.probabilities, n);
    });
    const png = encodePng({ width: 28, height: 28, data: pixels.subarray(0, 784), channels: 1, depth: 8 });
    const res = await call("/v1/predict?preprocess=none", post(png, "image/png"));
    expect(res.status, await res.clone().text()).toBe(200);
    close(((await res.json()) as { probabilities: number[] }).probabilities, 0);
  });

  it("should answer /v2 infer for [N, 784] and [N, 1, 28, 28]", async () => {
    for (const shape of [
      [N, 784],
      [N, 1, 28, 28],
    ]) {
      const body = { inputs: [{ name: "input", shape, datatype: "FP32", data: Array.from(x) }], outputs: [{ name: "probabilities" }] };
      const res = await call("/v2/models/cnn/infer", post(JSON.stringify(body), "application/json"));
      expect(res.status, await res.clone().text()).toBe(200);
      const out = ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0].data;
      for (let n = 0; n < N; n++) close(out.slice(n * 10, n * 10 + 10), n);
    }
  });
});
