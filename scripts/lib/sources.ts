// The readers of each weights format the importer accepts, each giving the
// same thing: dense layers with weights as [in, out] (x·W), checked to chain,
// and convolutions with weights as [F, C, KH, KW] (as the book and PyTorch
// store them; their chaining depends on padding and pooling, which the
// importer is told, so readSpec checks it).
//   - a pickle of {W1, b1, ..., Wn, bn} numpy arrays, W as [in, out] or
//     [F, C, KH, KW] (the book's sample_weight.pkl, simple_convnet_params.pkl,
//     deep_convnet_params.pkl), read by a safe reader that executes nothing;
//   - the same arrays in an .npz (np.savez);
//   - a PyTorch state_dict of nn.Linear and nn.Conv2d layers saved as
//     .safetensors ("0.weight" [out, in] or [F, C, KH, KW], "0.bias", ...).
import { basename, extname } from "node:path";
import { parseSafetensors } from "../../src/model/safetensors";
import { type NdArray, parseNpz } from "./npz";
import { loadPickledArrays } from "./pickle";

export type SourceFormat = "pickle" | "npz" | "torch-safetensors";

/** A user error: printed as `import: <message>`, exit code 2, no stack trace. */
export class ImportError extends Error {
  override name = "ImportError";
}

/** Throws an ImportError: the message is for the user. */
export function fail(msg: string): never {
  throw new ImportError(msg);
}

/** One layer read from the source: a dense weight already as x·W, [in, out]; a convolution's [F, C, KH, KW]. */
export interface SourceLayer {
  weight: NdArray;
  bias: NdArray;
  /** The source's names for them: "W1" and "b1", or "0.weight" and "0.bias". */
  weightName: string;
  biasName: string;
  /** True when the source stored the weight as [out, in] (PyTorch). */
  transposed?: boolean;
}

export interface Source {
  format: SourceFormat;
  layers: SourceLayer[];
  /** What was assumed about the source, to print. */
  notes: string[];
}

const shapeStr = (s: number[]) => `(${s.join(", ")}${s.length === 1 ? "," : ""})`;

/** Picks the reader from the extension, or failing that the first bytes. */
function detectFormat(path: string, bytes: Uint8Array): SourceFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".pkl" || ext === ".pickle" || ext === ".p") return "pickle";
  if (ext === ".npz") return "npz";
  if (ext === ".safetensors") return "torch-safetensors";
  if (bytes[0] === 0x80) return "pickle";
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "npz";
  return fail(
    `cannot tell the format of ${basename(path)} from its extension "${ext}"; name it .pkl (pickle), .npz (np.savez) or .safetensors (PyTorch state_dict)`,
  );
}

/**
 * The book's naming: W1, b1, ..., Wn, bn with W_i [in, out]. Checks every W
 * has its b, no key is left over, and shapes chain.
 */
function bookLayers(arrays: Map<string, NdArray>, what: string): SourceLayer[] {
  const W = new Map<number, NdArray>();
  const b = new Map<number, NdArray>();
  for (const [key, arr] of arrays) {
    const m = /^([Wb])([1-9]\d*)$/.exec(key);
    if (!m) fail(`${what} holds an array "${key}"; expected only W1, b1, W2, b2, ... (the book's naming, W as [in, out])`);
    (m[1] === "W" ? W : b).set(Number(m[2]), arr);
  }
  const n = W.size;
  if (n === 0) fail(`${what} holds no weights; expected W1, b1, W2, b2, ... (found ${[...arrays.keys()].join(", ") || "nothing"})`);
  const layers: SourceLayer[] = [];
  for (let i = 1; i <= n; i++) {
    const w =
      W.get(i) ??
      fail(
        `${what} has ${[...W.keys()]
          .sort((x, y) => x - y)
          .map((k) => `W${k}`)
          .join(", ")} but no W${i}; layers must be numbered 1..n without gaps`,
      );
    const bias = b.get(i) ?? fail(`${what} has W${i} but no matching b${i}; every layer needs a weight and a bias`);
    if (w.shape.length !== 2 && w.shape.length !== 4)
      fail(`W${i} has shape ${shapeStr(w.shape)}; a weight must be 2-D (in, out) or a convolution's 4-D (filters, channels, height, width)`);
    if (bias.shape.length !== 1) fail(`b${i} has shape ${shapeStr(bias.shape)}; a bias must be 1-D (out,) — reshape it with b.reshape(-1)`);
    const outs = w.shape.length === 4 ? w.shape[0] : w.shape[1];
    if (bias.shape[0] !== outs) fail(`b${i} has shape ${shapeStr(bias.shape)} but W${i} ${shapeStr(w.shape)} gives ${outs} outputs`);
    const prev = layers[i - 2]?.weight.shape;
    if (i > 1 && w.shape.length === 4 && prev.length === 4 && w.shape[1] !== prev[0])
      fail(`W${i} ${shapeStr(w.shape)} takes ${w.shape[1]} channels but W${i - 1} gives ${prev[0]} filters; the layer shapes must chain`);
    if (i > 1 && w.shape.length === 4 && prev.length === 2)
      fail(`W${i} is a convolution after the dense W${i - 1}; a convolution takes the input or another convolution`);
    if (i > 1 && w.shape.length === 2 && prev.length === 2 && w.shape[0] !== prev[1])
      fail(
        `W${i} ${shapeStr(w.shape)} takes ${w.shape[0]} inputs but W${i - 1} gives ${layers[i - 2].weight.shape[1]}; the layer shapes must chain (W as [in, out])`,
      );
    layers.push({ weight: w, bias, weightName: `W${i}`, biasName: `b${i}` });
  }
  for (const i of b.keys()) if (!W.has(i)) fail(`${what} has b${i} but no matching W${i}`);
  return layers;
}

function transpose(a: NdArray): NdArray {
  const [rows, cols] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a.data[r * cols + c];
  return { shape: [cols, rows], data: out };
}

/**
 * A PyTorch state_dict of nn.Linear layers: "<prefix>.weight" [out, in] and
 * "<prefix>.bias" [out]. Layers are ordered by the numbers in their prefixes
 * when all prefixes follow one numbered pattern (0, 2, 4 or net.0, net.2 or
 * fc1, fc2, fc10), else in the order the file lists them.
 */
function torchLayers(bytes: Uint8Array, what: string): { layers: SourceLayer[]; notes: string[] } {
  const file = parseSafetensors(bytes);
  if (file.metadata.activations !== undefined || file.metadata.format?.startsWith("mnist-edge"))
    fail(`${what} is already in this project's weights format (its metadata has "activations"); copy it into weights/ instead of importing it`);
  const groups = new Map<string, { weight?: NdArray; bias?: NdArray }>();
  for (const [name, t] of file.tensors) {
    const m = /^(.+)\.(weight|bias)$/.exec(name);
    if (!m) fail(`tensor "${name}" is not a ".weight" or ".bias"; only a state_dict of nn.Linear and nn.Conv2d layers can be imported`);
    const g = groups.get(m[1]) ?? {};
    groups.set(m[1], g);
    g[m[2] as "weight" | "bias"] = { shape: t.shape, data: t.data };
  }
  if (groups.size === 0) fail(`${what} holds no tensors`);
  const prefixes = [...groups.keys()];
  const skeleton = (p: string) => p.replace(/\d+/g, "#");
  const numbered = prefixes.every((p) => /\d/.test(p) && skeleton(p) === skeleton(prefixes[0]));
  const notes: string[] = [];
  if (numbered) {
    const key = (p: string) => (p.match(/\d+/g) ?? []).map(Number);
    prefixes.sort((x, y) => {
      const a = key(x);
      const b = key(y);
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
      return 0;
    });
  } else if (prefixes.length > 1) notes.push(`layer order ${prefixes.join(", ")} is the order of the file's header (the names share no numbered pattern)`);

  const layers: SourceLayer[] = [];
  prefixes.forEach((p, i) => {
    const { weight, bias } = groups.get(p) ?? {};
    if (!weight) fail(`tensor "${p}.bias" has no matching "${p}.weight"`);
    if (!bias) fail(`tensor "${p}.weight" has no matching "${p}.bias"; layers without a bias (bias=False) are not supported`);
    if (weight.shape.length !== 2 && weight.shape.length !== 4)
      fail(`tensor "${p}.weight" has shape [${weight.shape}]; only nn.Linear weights [out, in] and nn.Conv2d weights [F, C, KH, KW] are supported`);
    if (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0])
      fail(`tensor "${p}.bias" has shape [${bias.shape}]; expected [${weight.shape[0]}] to match "${p}.weight" = [${weight.shape}]`);
    if (weight.shape.length === 4) {
      // nn.Conv2d stores [F, C, KH, KW], this project's layout: taken as it is.
      const prev = layers[i - 1]?.weight.shape;
      if (prev && prev.length === 2)
        fail(`tensor "${p}.weight" is a convolution after the dense "${prefixes[i - 1]}"; a convolution takes the input or another convolution`);
      if (prev && weight.shape[1] !== prev[0])
        fail(`tensor "${p}.weight" [${weight.shape}] takes ${weight.shape[1]} channels but "${prefixes[i - 1]}" gives ${prev[0]}`);
      layers.push({ weight, bias, weightName: `${p}.weight`, biasName: `${p}.bias` });
      return;
    }
    if (i > 0 && layers[i - 1].weight.shape.length === 2) {
      const prev = layers[i - 1].weight.shape[1];
      if (weight.shape[1] !== prev) {
        const hint = weight.shape[0] === layers[i - 1].weight.shape[0] ? " (the weights look like [in, out] already: is this a PyTorch state_dict?)" : "";
        fail(
          `tensor "${p}.weight" [out, in] = [${weight.shape}] takes ${weight.shape[1]} inputs but "${prefixes[i - 1]}" gives ${prev}; the layer shapes must chain in the order ${prefixes.join(", ")}${hint}`,
        );
      }
    }
    layers.push({ weight: transpose(weight), bias, weightName: `${p}.weight`, biasName: `${p}.bias`, transposed: true });
  });
  return { layers, notes };
}

/** Reads any supported source into layers of [in, out] weights. */
export function readSource(path: string, bytes: Uint8Array): Source {
  const format = detectFormat(path, bytes);
  const what = basename(path);
  try {
    if (format === "pickle") return { format, layers: bookLayers(loadPickledArrays(bytes), what), notes: [] };
    if (format === "npz") return { format, layers: bookLayers(parseNpz(bytes), what), notes: [] };
    return { format, ...torchLayers(bytes, what) };
  } catch (e) {
    if (e instanceof ImportError) throw e;
    // PickleError, NpyError and SafetensorsError are all about the file.
    if (e instanceof Error && /^(PickleError|NpyError|SafetensorsError)$/.test(e.name)) fail(`${what}: ${e.message}`);
    throw e;
  }
}
