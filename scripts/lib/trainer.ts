// Mini-batch training of a dense or convolutional network from scratch: Adam, softmax +
// cross-entropy, He/Xavier initialisation, cosine learning-rate decay, random
// shifts and distortions for augmentation, a validation split held out of the
// training set.
// Every random draw comes from one seeded generator, so two runs with the
// same options give bit-identical weights.
import { modules } from "#kernel";
import { type Affine, forwardKeeping, gradient, workspace } from "../../src/nn/backward";
import { affine } from "../../src/nn/affine";
import { type Activation, argmax } from "../../src/nn/functions";
import { convOutput } from "../../src/nn/conv";
import type { Layer, Network } from "../../src/nn/network";
import { Adam } from "../../src/nn/optimizer";
import { rng } from "../../src/nn/random";
import { KernelProbe } from "../../src/nn/wasm/testing";
import { type AugmentOptions, augment, augments, drawWarp, elasticBank } from "./augment";
import { UsageError } from "./cli";
import { refit } from "./refit";
import { restyle, strokeWidth } from "./styles";
import type { Split } from "../../test/fixtures/datasets";

/** One convolution of a trained network: F filters of kernel × kernel, ReLU'd like the dense layers, then max pooling. */
export interface ConvSpec {
  filters: number;
  kernel: number;
  /** Zeros around the input; @default 0 */
  pad?: number;
  /** Max pooling window (and stride) after the activation; none when 1. @default 2 */
  pool?: number;
}

export interface TrainOptions {
  /** Convolutions before the dense layers, in order; none for a dense network. */
  conv?: ConvSpec[];
  hidden: number[];
  activation: Activation;
  epochs: number;
  batch: number;
  lr: number;
  /** Learning rate at the end of the cosine schedule. */
  lrMin: number;
  weightDecay: number;
  /** Largest random shift in pixels, each axis (0 = no augmentation). */
  shift: number;
  /** Images held out of the training set for validation. */
  validation: number;
  seed: number;
  /** Distortions drawn per image on top of the shifts; none when absent. */
  augment?: AugmentOptions;
  /**
   * Handwriting styles MNIST rarely shows, drawn onto its digits before the
   * distortions (scripts/lib/styles.ts): the share of images restyled (a
   * flagged 1, a crossed 7, a slashed 0, ...) and the share redrawn with a pen
   * from 1 to 4 px wide. Absent for data sets other than digits.
   */
  styles?: { restyle: number; pen: number };
  /**
   * The share of images read back through the service's own preprocessing
   * after their distortions (scripts/lib/refit.ts): what a picture of the
   * digit becomes in service. None when absent.
   */
  refit?: number;
  /** Train on only the first N shuffled images (quick runs and tests). */
  limit?: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  valAccuracy: number;
  seconds: number;
  etaSeconds: number;
}

/** Elastic fields drawn once per run; each distorted image picks one. */
const FIELDS = 512;

function shuffle(a: Uint32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** A normal draw with standard deviation std (Box–Muller). */
function gauss(std: number, rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A network of random weights: the convolutions (over side × side images of
 * one channel) then dense layers of the given sizes, the last one softmax.
 * He initialisation for ReLU, Xavier for sigmoid-like units (book, 6.2), with
 * a convolution's fan-in its C·KH·KW taps.
 */
export function initNetwork(sizes: number[], activation: Activation, rand: () => number, conv: ConvSpec[] = [], side = 0): Network {
  const layers: Layer[] = [];
  const std = (fanIn: number) => (activation === "relu" ? Math.sqrt(2 / fanIn) : Math.sqrt(1 / fanIn));
  let C = 1;
  let H = side;
  for (const c of conv) {
    const shape = { C, IH: H, IW: H, F: c.filters, KH: c.kernel, KW: c.kernel, stride: 1, pad: c.pad ?? 0 };
    const [OH] = convOutput(shape);
    const pool = (c.pool ?? 2) > 1 ? (c.pool ?? 2) : undefined;
    const out = pool ? Math.floor(OH / pool) : OH;
    if (out < 1) throw new UsageError(`convolution ${layers.length + 1} leaves no output on a ${H}×${H} input: use fewer layers, a smaller kernel or padding`);
    const W = new Float32Array(c.filters * C * c.kernel * c.kernel);
    for (let k = 0; k < W.length; k++) W[k] = gauss(std(C * c.kernel * c.kernel), rand);
    layers.push({ W, b: new Float32Array(c.filters), inSize: C * H * H, outSize: c.filters * out * out, activation, conv: shape, pool });
    C = c.filters;
    H = out;
  }
  const dense = conv.length ? [C * H * H, ...sizes.slice(1)] : sizes;
  for (let i = 0; i + 1 < dense.length; i++) {
    const K = dense[i];
    const M = dense[i + 1];
    const W = new Float32Array(K * M);
    for (let k = 0; k < W.length; k++) W[k] = gauss(std(K), rand);
    const last = i + 2 === dense.length;
    layers.push({ W, b: new Float32Array(M), inSize: K, outSize: M, activation: last ? "softmax" : activation });
  }
  return { layers };
}

/** Copies `start`'s weights into `net`, whose layers must match them: shapes, activations, convolutions and pooling. */
export function startFrom(net: Network, start: Network): void {
  const again = "give the options it was trained with";
  if (start.layers.length !== net.layers.length)
    throw new UsageError(`the starting network has ${start.layers.length} layers where these options build ${net.layers.length}: ${again}`);
  const conv = ({ conv: c, pool }: Layer) => (c ? [c.C, c.IH, c.IW, c.F, c.KH, c.KW, c.stride, c.pad, pool ?? 1].join() : "");
  net.layers.forEach((l, i) => {
    const s = start.layers[i];
    if (s.W.length !== l.W.length || s.b.length !== l.b.length || s.inSize !== l.inSize || s.outSize !== l.outSize || conv(s) !== conv(l))
      throw new UsageError(`layer ${i + 1} of the starting network is not the shape these options build: ${again}`);
    if (s.activation !== l.activation)
      throw new UsageError(`layer ${i + 1} of the starting network is ${s.activation} where these options build ${l.activation}: ${again}`);
    l.W.set(s.W);
    l.b.set(s.b);
  });
}

/** Input size and class count of a data set: its image size and its largest label + 1. */
export function shapeOf(data: Split): { D: number; C: number; side: number } {
  const D = data.pixels.length / data.count;
  let C = 0;
  for (let i = 0; i < data.count; i++) if (data.labels[i] >= C) C = data.labels[i] + 1;
  // Loading, shifting and distorting all read images as side × side.
  const side = Math.round(Math.sqrt(D));
  if (side * side !== D) throw new Error(`the trainer needs square images; these have ${D} pixels`);
  return { D, C, side };
}

/** Copies image `src` (side×side) into `dst` as floats in [0, 1], shifted by (dx, dy). */
function loadImage(dst: Float32Array, at: number, pixels: Uint8Array, src: number, side: number, dx: number, dy: number): void {
  const o = src * side * side;
  for (let y = 0; y < side; y++) {
    const sy = y - dy;
    for (let x = 0; x < side; x++) {
      const sx = x - dx;
      dst[at + y * side + x] = sy >= 0 && sy < side && sx >= 0 && sx < side ? pixels[o + sy * side + sx] / 255 : 0;
    }
  }
}

/**
 * The matrix product training runs on: the Wasm SIMD kernel's affine (an
 * order of magnitude faster than the JS one here, and held to the same
 * naive reference by the kernel suite), or the JS one where Node lacks SIMD.
 */
export function trainingProduct(): Affine {
  const module = modules?.relaxed ?? modules?.simd;
  if (!module) return affine;
  const probe = new KernelProbe(module);
  return probe.affine.bind(probe);
}

export function accuracyOn(net: Network, split: Split, indices: Uint32Array, product: Affine = trainingProduct()): number {
  let correct = 0;
  const chunk = 100;
  const { D, side } = shapeOf(split);
  const C = net.layers[net.layers.length - 1].outSize;
  const ws = workspace(net, chunk, product);
  const x = ws.z[0];
  for (let s = 0; s < indices.length; s += chunk) {
    const n = Math.min(chunk, indices.length - s);
    x.fill(0);
    for (let i = 0; i < n; i++) loadImage(x, i * D, split.pixels, indices[s + i], side, 0, 0);
    const labels = argmax(forwardKeeping(net, x, chunk, ws), C);
    for (let i = 0; i < n; i++) if (labels[i] === split.labels[indices[s + i]]) correct++;
  }
  return correct / indices.length;
}

/**
 * Trains from `start`'s weights instead of random ones where given (to go on
 * training a network with other distortions): a copy, the same layers as the
 * options build, or a UsageError that says what differs.
 */
export function train(data: Split, opts: TrainOptions, onEpoch: (r: EpochReport) => void = () => {}, start?: Network): Network {
  const rand = rng(opts.seed);
  const order = new Uint32Array(data.count).map((_, i) => i);
  shuffle(order, rand);
  const valIdx = order.slice(0, opts.validation);
  let trainIdx = order.slice(opts.validation);
  if (opts.limit) trainIdx = trainIdx.slice(0, opts.limit);

  const { D, C, side } = shapeOf(data);
  const sizes = [D, ...opts.hidden, C];
  const net = initNetwork(sizes, opts.activation, rand, opts.conv, side);
  if (start) startFrom(net, start);
  // Drawn only when asked for, so runs without distortions keep their random stream.
  const aug = opts.augment && augments(opts.augment) ? opts.augment : null;
  const bank = aug ? elasticBank(FIELDS, side, aug, rand) : [];
  const warped = new Uint8Array(D);
  const styled = new Uint8Array(D);
  const penned = new Uint8Array(D);
  const refitted = new Uint8Array(D);
  const B = opts.batch;
  const params = net.layers.flatMap((l) => [l.W, l.b]);
  const adam = new Adam(params);
  const product = trainingProduct();
  const ws = workspace(net, B, product);
  const grads = ws.grads.flatMap((g) => [g.dW, g.db]);
  const x = ws.z[0];
  const t = new Uint8Array(B);
  const steps = opts.epochs * Math.floor(trainIdx.length / B);
  const started = performance.now();

  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    shuffle(trainIdx, rand);
    let lossSum = 0;
    let batches = 0;
    for (let s = 0; s + B <= trainIdx.length; s += B) {
      for (let i = 0; i < B; i++) {
        const src = trainIdx[s + i];
        const label = data.labels[src];
        let img = data.pixels.subarray(src * D, (src + 1) * D);
        // Drawn only when asked for, so runs without styles keep their random stream.
        if (opts.styles) {
          if (rand() < opts.styles.restyle && restyle(img, label, side, rand, styled)) img = styled;
          if (rand() < opts.styles.pen) img = strokeWidth(img, side, 1 + 3 * rand(), penned);
        }
        const dx = opts.shift ? Math.floor(rand() * (2 * opts.shift + 1)) - opts.shift : 0;
        const dy = opts.shift ? Math.floor(rand() * (2 * opts.shift + 1)) - opts.shift : 0;
        let out: Uint8Array | null = null;
        if (aug && rand() < aug.p) {
          const w = drawWarp(aug, bank, rand);
          w.dx = dx;
          w.dy = dy;
          out = augment(img, side, w, warped);
        }
        // Drawn only when asked for; the service recentres, so a refitted digit's shift is moot.
        if (opts.refit && rand() < opts.refit) out = refit(out ?? img, side, refitted) ?? out;
        if (out) for (let k = 0; k < D; k++) x[i * D + k] = out[k] / 255;
        else loadImage(x, i * D, img, 0, side, dx, dy);
        t[i] = label;
      }
      lossSum += gradient(net, x, t, B, ws);
      const progress = adam.t / steps;
      const lr = opts.lrMin + 0.5 * (opts.lr - opts.lrMin) * (1 + Math.cos(Math.PI * progress));
      adam.tick();
      for (let p = 0; p < params.length; p++) adam.update(p, params[p], grads[p], lr, p % 2 === 0 ? opts.weightDecay : 0);
      batches++;
    }
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    onEpoch({
      epoch,
      epochs: opts.epochs,
      loss: lossSum / Math.max(batches, 1),
      valAccuracy: valIdx.length ? accuracyOn(net, data, valIdx, product) : NaN,
      seconds: (now - t0) / 1000,
      etaSeconds: (elapsed / epoch) * (opts.epochs - epoch),
    });
  }
  return net;
}
