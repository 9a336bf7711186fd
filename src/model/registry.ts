// The lazy model registry: bundled weights stay as the raw bytes the bundle
// gave us until a request needs them, are decoded once, and stay decoded for
// the isolate's life. Decoding is synchronous, and an isolate runs one piece
// of JavaScript at a time, so concurrent first requests cannot decode twice:
// the first one to run stores the result before any other can look.
import { DEFAULT_LABELS, type ModelFile, decodeModel } from "./format";
import { readSafetensorsHeader } from "./safetensors";

export interface ModelCard {
  name: string;
  default: boolean;
  architecture: { layers: number[]; activations: string[] };
  parameters: number;
  dtype: string;
  bytes: number;
  sha256: string;
  labels: string[];
  input_shape: number[];
  input_scale: number;
  test_accuracy: number | null;
  decoded: boolean;
  /** False when the weights do not decode; `error` says why. */
  available: boolean;
  error?: string;
  metadata: Record<string, string>;
}

/** The model exists but its weights do not decode: answered as 503. */
export class ModelUnavailableError extends Error {
  override name = "ModelUnavailableError";
  constructor(
    public model: string,
    public reason: string,
  ) {
    super(`model "${model}" is unavailable: ${reason}`);
  }
}

interface Entry {
  bytes: ArrayBuffer;
  model?: ModelFile;
  error?: string;
  sha256?: string;
  card?: Omit<ModelCard, "decoded" | "sha256" | "available" | "error">;
  decodeMs?: number;
}

export class ModelRegistry {
  private entries = new Map<string, Entry>();
  /** How many times weights were decoded, for tests of laziness. */
  decodeCount = 0;

  constructor(
    files: Record<string, ArrayBuffer>,
    public readonly defaultModel: string,
  ) {
    for (const [name, bytes] of Object.entries(files)) this.entries.set(name, { bytes });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  isDecoded(name: string): boolean {
    return this.entries.get(name)?.model !== undefined;
  }

  /**
   * The decoded model, decoding it on first use. `onDecode` hears how long a
   * decode took when this call did one (for Server-Timing).
   */
  get(name: string, onDecode?: (ms: number) => void): ModelFile {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown model "${name}"`);
    if (entry.model) return entry.model;
    if (entry.error) throw new ModelUnavailableError(name, entry.error);
    const t0 = performance.now();
    try {
      entry.model = decodeModel(entry.bytes);
    } catch (e) {
      entry.error = (e as Error).message;
      console.error(JSON.stringify({ level: "error", msg: "model failed to decode", model: name, error: entry.error }));
      throw new ModelUnavailableError(name, entry.error);
    }
    this.decodeCount++;
    entry.decodeMs = performance.now() - t0;
    onDecode?.(entry.decodeMs);
    return entry.model;
  }

  /** The model card, from the header alone: describing a model does not decode it. */
  async card(name: string): Promise<ModelCard> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown model "${name}"`);
    entry.card ??= this.describe(name, entry);
    entry.sha256 ??= hex(await crypto.subtle.digest("SHA-256", entry.bytes));
    return {
      ...entry.card,
      sha256: entry.sha256,
      decoded: entry.model !== undefined,
      available: entry.error === undefined,
      ...(entry.error ? { error: entry.error } : {}),
    };
  }

  /** Every model's card; one whose weights are broken says so with available: false. */
  cards(): Promise<ModelCard[]> {
    return Promise.all(this.names().map((name) => this.card(name)));
  }

  private describe(name: string, entry: Entry): NonNullable<Entry["card"]> {
    const base = { name, default: name === this.defaultModel, bytes: entry.bytes.byteLength };
    let header: ReturnType<typeof readSafetensorsHeader>;
    try {
      header = readSafetensorsHeader(entry.bytes);
    } catch (e) {
      if (!entry.error) {
        entry.error = (e as Error).message;
        console.error(JSON.stringify({ level: "error", msg: "model header failed to parse", model: name, error: entry.error }));
      }
      const nothing = { architecture: { layers: [], activations: [] }, parameters: 0, dtype: "", labels: [], input_shape: [], input_scale: 0 };
      return { ...base, ...nothing, test_accuracy: null, metadata: {} };
    }
    const { entries, metadata } = header;
    const weights = entries.filter((e) => /^layers\.\d+\.weight$/.test(e.name)).sort((a, b) => layerIndex(a.name) - layerIndex(b.name));
    const sizes = weights.length ? [weights[0].shape[0], ...weights.map((w) => w.shape[1])] : [];
    // The decoder's defaults, so the card describes what would be served.
    let labels: string[] = DEFAULT_LABELS.slice(0, sizes.at(-1) ?? 0);
    try {
      const parsed: unknown = JSON.parse(metadata.labels ?? "null");
      if (Array.isArray(parsed) && parsed.every((l) => typeof l === "string")) labels = parsed;
    } catch {
      /* reported when the model is decoded */
    }
    const acc = Number(metadata.test_accuracy);
    return {
      ...base,
      architecture: { layers: sizes, activations: (metadata.activations ?? "").split(",").filter(Boolean) },
      parameters: entries.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0),
      dtype: [...new Set(entries.map((e) => e.dtype))].join(","),
      labels,
      input_shape: metadata.input_shape ? metadata.input_shape.split(",").map(Number) : sizes.slice(0, 1),
      input_scale: Number(metadata.input_scale ?? 1),
      test_accuracy: Number.isFinite(acc) && metadata.test_accuracy !== undefined ? acc : null,
      metadata,
    };
  }

  /** Models known to be broken (a failed header or decode); untried ones are not checked here. */
  failures(): { name: string; error: string }[] {
    return [...this.entries].filter(([, e]) => e.error !== undefined).map(([name, e]) => ({ name, error: e.error as string }));
  }
}

function layerIndex(name: string): number {
  return Number(name.split(".")[1]);
}

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
