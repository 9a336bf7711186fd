// npm run import -- <file> --name <name> [--activations a,b,c] [--out <path>]
// Converts existing weights into this project's weights contract (see
// src/model/format.ts) and writes weights/<name>.safetensors with where they
// came from in the metadata. The readers of each source format (pickle,
// .npz, PyTorch safetensors) are in scripts/lib/sources.ts.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeModel, encodeModel } from "../src/model/format";
import { type Activation, isActivation } from "../src/nn/functions";
import type { Network } from "../src/nn/network";
import { parseCommand, UsageError } from "./lib/cli";
import { updateManifest } from "./lib/manifest";
import { weightsFile } from "./lib/paths";
import { fail, ImportError, readSource, type Source } from "./lib/sources";
import { table } from "./lib/table";

interface ImportOptions {
  name: string;
  /** One per layer; defaults to sigmoid…softmax (book formats) or relu…softmax (PyTorch). */
  activations?: Activation[];
  /** The command line to record. */
  command: string;
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
  if (!activations) {
    const hidden: Activation = source.format === "torch-safetensors" ? "relu" : "sigmoid";
    activations = [...Array<Activation>(L - 1).fill(hidden), "softmax"];
    notes.push(
      source.format === "torch-safetensors"
        ? `activations ${activations.join(",")} assumed (PyTorch MLPs usually use ReLU; the logits get softmax); pass --activations to change`
        : `activations ${activations.join(",")} assumed (the book's network); pass --activations to change`,
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

  const inSize = layers[0].weight.shape[0];
  let inputShape = [28, 28];
  if (inSize !== 784) {
    inputShape = [inSize];
    notes.push(`the first layer takes ${inSize} inputs, not 784, so input_shape cannot be 28,28; it is set to ${inSize}`);
  }
  const outSize = layers[L - 1].weight.shape[1];
  const labels = Array.from({ length: outSize }, (_, i) => String(i));
  if (outSize !== 10) notes.push(`the last layer gives ${outSize} outputs, not 10; labels are 0..${outSize - 1}`);

  const network: Network = {
    layers: layers.map((l, i) => ({ W: l.weight.data, b: l.bias.data, inSize: l.weight.shape[0], outSize: l.weight.shape[1], activation: activations[i] })),
  };
  const bytes = encodeModel(network, {
    labels,
    inputShape,
    inputScale: 255,
    dtype: "F32",
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
    `${l.inSize} × ${l.outSize}`,
    l.outSize,
    l.activation,
    `${layers[i].weightName}${layers[i].transposed ? " (transposed)" : ""}, ${layers[i].biasName}`,
  ]);
  return { bytes, network, rows, notes };
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

const usage = `usage: npm run import -- <file> --name <name> [--activations a,b,c] [--out <path>]
  <file>: a pickle or .npz of W1, b1, ..., Wn, bn (W as [in, out], as in the book),
          or a PyTorch state_dict of nn.Linear layers saved as .safetensors
  --activations: one per layer from step, sigmoid, relu, identity, softmax
          (default sigmoid…softmax for pickle/npz, relu…softmax for PyTorch)
  --out:  default weights/<name>.safetensors`;

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The CLI; returns the exit code (0 ok, 2 user error). */
export function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): number {
  try {
    const options = { name: { type: "string" }, activations: { type: "string" }, out: { type: "string" } } as const;
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
    const path = positionals[0];
    if (!existsSync(path)) fail(`${path} not found; give the path of a .pkl, .npz or .safetensors weights file`);
    if (!statSync(path).isFile()) fail(`${path} is not a file`);
    const bytes = new Uint8Array(readFileSync(path));
    const out = v.out ? resolve(v.out) : weightsFile(name);
    const command = ["npm", "run", "import", "--", ...argv].map(shellQuote).join(" ");

    const source = readSource(path, bytes);
    const result = convert(path, source, { name, activations, command });
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
