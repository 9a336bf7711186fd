// npm run import -- <file> --name <name> [--activations a,b,c] [--layers JSON] [--dtype F32|F16|int8] [--out <path>]
// Converts existing weights into this project's weights contract (see
// src/model/format.ts) and writes weights/<name>.safetensors with where they
// came from in the metadata. The readers of each source format (pickle,
// .npz, PyTorch safetensors) are in scripts/lib/sources.ts.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeModel, encodeModel, readLayerShapes, type WeightDType } from "../src/model/format";
import type { LayerShape } from "../src/nn/backend";
import { convOutput } from "../src/nn/conv";
import { type Activation, isActivation } from "../src/nn/functions";
import type { Layer, Network } from "../src/nn/network";
import { parseCommand, UsageError } from "./lib/cli";
import { DTYPE_CHOICES, readDType } from "./lib/dtype";
import { updateManifest } from "./lib/manifest";
import { weightsFile } from "./lib/paths";
import { fail, ImportError, readSource, type Source, type SourceLayer } from "./lib/sources";
import { table } from "./lib/table";

interface ImportOptions {
  name: string;
  /** One per layer; defaults to sigmoid…softmax (book formats) or relu…softmax (PyTorch, and any network with convolutions). */
  activations?: Activation[];
  /** Metadata "layers" of the contract: stride, padding, pooling and input scale per layer; recognised for the book's convnets. */
  layers?: LayerShape[];
  /** The command line to record. */
  command: string;
  /** @default "F32" */
  dtype?: WeightDType;
  /** @default new Date() */
  now?: Date;
}

interface Imported {
  bytes: Uint8Array;
  network: Network;
  rows: (string | number)[][];
  notes: string[];
}

/** Builds, checks and encodes the model; the bytes always pass decodeModel. */
function convert(path: string, source: Source, opts: ImportOptions): Imported {
  const { layers } = source;
  const L = layers.length;
  const notes = [...source.notes];
  let activations = opts.activations;
  const convolutional = layers.some((l) => l.weight.shape.length === 4);
  if (!activations) {
    const hidden: Activation = source.format === "torch-safetensors" || convolutional ? "relu" : "sigmoid";
    activations = [...Array<Activation>(L - 1).fill(hidden), "softmax"];
    notes.push(
      source.format === "torch-safetensors"
        ? `activations ${activations.join(",")} assumed (PyTorch MLPs usually use ReLU; the logits get softmax); pass --activations to change`
        : `activations ${activations.join(",")} assumed (the book's ${convolutional ? "convolutional networks use ReLU" : "network"}); pass --activations to change`,
    );
  } else if (activations.length !== L)
    fail(`--activations lists ${activations.length} activations but the file has ${L} layer${L === 1 ? "" : "s"}; give one per layer`);
  if (source.format === "torch-safetensors") notes.push("input_scale 255 assumes the model was trained on pixel/255 (ToTensor) without Normalize");

  for (const l of layers)
    for (const [label, t] of [
      [l.weightName, l.weight],
      [l.biasName, l.bias],
    ] as const)
      for (let j = 0; j < t.data.length; j++)
        if (!Number.isFinite(t.data[j])) fail(`${label} holds a non-finite value (${t.data[j]}) at element ${j}; the weights are broken`);

  let shapes = opts.layers;
  if (!shapes) {
    const book = bookArchitecture(layers);
    if (book) {
      shapes = book.layers;
      notes.push(book.note);
    } else if (convolutional)
      fail(
        'the file has convolutions but their stride, padding and pooling are not in it; give them with --layers, e.g. --layers \'[{"type":"conv","pad":1,"pool":2},{"type":"dense"}]\'',
      );
    else shapes = layers.map(() => ({}));
  } else if (shapes.length !== L) fail(`--layers lists ${shapes.length} layers but the file has ${L}; give one object per layer`);
  else
    shapes.forEach((sh, i) => {
      if (Boolean(sh.conv) !== (layers[i].weight.shape.length === 4))
        fail(`--layers[${i}] says ${sh.conv ? "conv" : "dense"} but ${layers[i].weightName} has shape [${layers[i].weight.shape}]`);
    });

  const first = layers[0].weight.shape;
  let inputShape = first.length === 4 ? [first[1], 28, 28] : [28, 28];
  if (first.length === 4) notes.push(`input ${inputShape.join("×")} assumed (channels × MNIST's 28 × 28)`);
  else if (first[0] !== 784) {
    inputShape = [first[0]];
    notes.push(`the first layer takes ${first[0]} inputs, not 784, so input_shape cannot be 28,28; it is set to ${first[0]}`);
  }
  const network: Network = { layers: chain(layers, shapes, activations, inputShape) };
  const outSize = network.layers[L - 1].outSize;
  const labels = Array.from({ length: outSize }, (_, i) => String(i));
  if (outSize !== 10) notes.push(`the last layer gives ${outSize} outputs, not 10; labels are 0..${outSize - 1}`);

  const bytes = encodeModel(network, {
    labels,
    inputShape,
    inputScale: 255,
    dtype: opts.dtype ?? "F32",
    extra: {
      name: opts.name,
      source: basename(path),
      source_format: source.format,
      command: opts.command,
      imported_at: (opts.now ?? new Date()).toISOString(),
      format: "mnist-edge/1",
    },
  });
  // Never write a file the service would refuse.
  try {
    decodeModel(bytes);
  } catch (e) {
    fail(`the converted weights do not pass the format check: ${(e as Error).message}`);
  }
  const rows = network.layers.map((l, i) => [
    i,
    l.conv
      ? `conv ${l.conv.F}×${l.conv.C}×${l.conv.KH}×${l.conv.KW} stride ${l.conv.stride} pad ${l.conv.pad}${l.pool ? `, pool ${l.pool}` : ""}`
      : `${l.scale !== undefined ? `×${l.scale}, ` : ""}${l.inSize} × ${l.outSize}`,
    l.b.length,
    l.activation,
    `${layers[i].weightName}${layers[i].transposed ? " (transposed)" : ""}, ${layers[i].biasName}`,
  ]);
  return { bytes, network, rows, notes };
}

/** Each layer's sizes from the one before, starting from the input [C, H, W] or [D]; a shape that does not fit fails here. */
function chain(layers: SourceLayer[], shapes: LayerShape[], activations: Activation[], input: number[]): Layer[] {
  let planes: number[] | undefined = input.length === 3 ? input : undefined;
  let size = input.reduce((a, b) => a * b, 1);
  return layers.map((l, i) => {
    const { pool, scale } = shapes[i];
    const inSize = size;
    if (shapes[i].conv) {
      const [F, C, KH, KW] = l.weight.shape;
      if (!planes) fail(`${l.weightName} is a convolution after a dense layer`);
      const conv = { C, IH: planes[1], IW: planes[2], F, KH, KW, stride: shapes[i].conv?.stride ?? 1, pad: shapes[i].conv?.pad ?? 0 };
      const [OH, OW] = convOutput(conv);
      const p = pool ?? 1;
      planes = [F, Math.floor(OH / p), Math.floor(OW / p)];
      size = planes[0] * planes[1] * planes[2];
      return {
        W: l.weight.data,
        b: l.bias.data,
        inSize,
        outSize: size,
        activation: activations[i],
        conv,
        ...(pool ? { pool } : {}),
        ...(scale !== undefined ? { scale } : {}),
      };
    }
    const [K, M] = l.weight.shape;
    if (K !== size)
      fail(
        `${l.weightName} takes ${K} inputs but the layer before gives ${size}${planes ? ` (${planes.join(" × ")}, flattened)` : ""}; check --layers (padding, pooling)`,
      );
    planes = undefined;
    size = M;
    return { W: l.weight.data, b: l.bias.data, inSize, outSize: M, activation: activations[i], ...(scale !== undefined ? { scale } : {}) };
  });
}

const shapesOf = (layers: SourceLayer[]) => layers.map((l) => l.weight.shape.join("x")).join(",");

/**
 * The book's convolutional networks, known by their tensors' shapes: their
 * pickles hold only the arrays, and the book's code (ch07/simple_convnet.py,
 * ch08/deep_convnet.py) holds the rest.
 */
function bookArchitecture(layers: SourceLayer[]): { layers: LayerShape[]; note: string } | undefined {
  const conv = (pad: number, pool?: number): LayerShape => ({ conv: { C: 0, IH: 0, IW: 0, F: 0, KH: 0, KW: 0, stride: 1, pad }, ...(pool ? { pool } : {}) });
  if (shapesOf(layers) === "30x1x5x5,4320x100,100x10")
    return { layers: [conv(0, 2), {}, {}], note: "recognised as the book's SimpleConvNet (ch. 7): conv stride 1 pad 0, ReLU, 2×2 max pool, then dense" };
  if (shapesOf(layers) === "16x1x3x3,16x16x3x3,32x16x3x3,32x32x3x3,64x32x3x3,64x64x3x3,1024x50,50x10")
    return {
      layers: [conv(1), conv(1, 2), conv(1), conv(2, 2), conv(1), conv(1, 2), {}, { scale: 0.5 }],
      note: "recognised as the book's DeepConvNet (ch. 8): 3×3 convs pad 1 (the 4th pad 2), 2×2 max pools after the 2nd, 4th and 6th; its inference-time dropout halves the 50 hidden values before W8 (scale 0.5); its last dropout, which halves the logits, changes no label and is left out",
    };
  return undefined;
}

/**
 * mkdir -p, one level at a time: Node's own recursive mkdirSync spins forever
 * on some paths (e.g. under /proc) instead of failing.
 */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  mkdirSync(dir);
}

const usage = `usage: npm run import -- <file> --name <name> [--activations a,b,c] [--layers JSON] [--dtype ${DTYPE_CHOICES}] [--out <path>]
  <file>: a pickle or .npz of W1, b1, ..., Wn, bn (W as [in, out], or a convolution's
          [filters, channels, height, width], as in the book), or a PyTorch
          state_dict of nn.Linear and nn.Conv2d layers saved as .safetensors
  --activations: one per layer from step, sigmoid, relu, identity, softmax
          (default sigmoid…softmax for a dense pickle/npz, relu…softmax otherwise)
  --layers: the weights format's metadata "layers", one object per layer, e.g.
          '[{"type":"conv","stride":1,"pad":1,"pool":2},{"type":"dense","scale":0.5}]'
          (needed for convolutions, except the book's two convnets, which are recognised)
  --dtype: the stored weights, default F32; int8 keeps one F32 scale per output
          column (per filter) and F32 biases
  --out:  default weights/<name>.safetensors`;

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The CLI; returns the exit code (0 ok, 2 user error). */
export function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): number {
  try {
    const options = {
      name: { type: "string" },
      activations: { type: "string" },
      layers: { type: "string" },
      dtype: { type: "string" },
      out: { type: "string" },
    } as const;
    const { values: v, positionals, help } = parseCommand({ name: "import", usage, options, positionals: true }, argv);
    if (help) {
      io.out(usage);
      return 0;
    }
    if (positionals.length !== 1)
      fail(`${positionals.length === 0 ? "give the weights file to import" : `give one file, not ${positionals.length}`}\n${usage}`);
    const name = v.name ?? fail(`--name is required (it names weights/<name>.safetensors)\n${usage}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) fail(`--name "${name}" must be letters, digits, ".", "_" or "-" (it becomes a file name)`);
    let activations: Activation[] | undefined;
    if (v.activations !== undefined) {
      const list = v.activations.split(",").map((s) => s.trim());
      for (const a of list) if (!isActivation(a)) fail(`--activations: unknown activation "${a}"; use step, sigmoid, relu, identity or softmax, one per layer`);
      activations = list as Activation[];
    }
    let layers: LayerShape[] | undefined;
    if (v.layers !== undefined) {
      try {
        // The same reader as the contract's, so --layers means what the metadata means.
        layers = readLayerShapes(v.layers);
      } catch (e) {
        fail(`--layers: ${(e as Error).message.replace(/^metadata "layers"/, "it")}`);
      }
    }
    const dtype = v.dtype === undefined ? "F32" : readDType(v.dtype);
    const path = positionals[0];
    if (!existsSync(path)) fail(`${path} not found; give the path of a .pkl, .npz or .safetensors weights file`);
    if (!statSync(path).isFile()) fail(`${path} is not a file`);
    const bytes = new Uint8Array(readFileSync(path));
    const out = v.out ? resolve(v.out) : weightsFile(name);
    const command = ["npm", "run", "import", "--", ...argv].map(shellQuote).join(" ");

    const source = readSource(path, bytes);
    const result = convert(path, source, { name, activations, layers, command, dtype });
    try {
      makeDirs(dirname(out));
      writeFileSync(out, result.bytes);
      updateManifest(out); // weights/ only: the bundle's digests (npm run check:weights)
    } catch (e) {
      fail(`cannot write ${out}: ${(e as Error).message}; choose another --out`);
    }

    io.out(`${basename(path)} (${source.format}) → ${name}`);
    io.out(table(["layer", "weight in × out", "bias", "activation", "from"], result.rows));
    for (const n of result.notes) io.out(`note: ${n}`);
    io.out(`wrote ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`import: ${e.message}\n${usage}`);
      return 2;
    }
    if (e instanceof ImportError) {
      io.err(`import: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
