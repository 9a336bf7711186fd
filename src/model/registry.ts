// The lazy model registry: bundled weights stay as the raw bytes the bundle
// gave us until a request needs them, are decoded once, and stay decoded for
// the isolate's life. Decoding is synchronous, and an isolate runs one piece
// of JavaScript at a time, so concurrent first requests cannot decode twice:
// the first one to run stores the result before any other can look.
import { decodeModel, describeHeader, type ModelFile, type ModelHeader } from "./format";
import { sha256Hex } from "./integrity";
import { readSafetensorsHeader } from "./safetensors";

/** What GET /v1/models/{model} answers; read from the header, never decoding. */
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
  /** False when the weights are broken; `error` says why. */
  available: boolean;
  error?: string;
  metadata: Record<string, string>;
}

/** The model exists but its weights are broken: answered as 503, without Retry-After (only a redeploy fixes it). */
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
  header?: ModelHeader;
  model?: ModelFile;
  /** Why the weights are unusable, once a header read or a decode failed. */
  error?: string;
  sha256?: string;
  /** The digest check against the bundle's manifest, run once per isolate. */
  verified?: Promise<void>;
}

export class ModelRegistry {
  private entries = new Map<string, Entry>();

  /**
   * @param digests Each model's expected SHA-256 (the bundle's
   * weights/manifest.json); when given, a model serves only once its bytes
   * match, and a model without one never serves.
   */
  constructor(
    files: Record<string, ArrayBuffer>,
    public readonly defaultModel: string,
    private readonly digests?: Record<string, string>,
  ) {
    for (const [name, bytes] of Object.entries(files)) this.entries.set(name, { bytes });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown model "${name}"`);
    return entry;
  }

  private broken(name: string, entry: Entry, e: unknown, what: string): ModelUnavailableError {
    entry.error = (e as Error).message;
    console.error(JSON.stringify({ level: "error", msg: `model ${what}`, model: name, error: entry.error }));
    return new ModelUnavailableError(name, entry.error);
  }

  /**
   * Checks a model's bytes against its expected digest, once per isolate:
   * a mismatch makes it unavailable (and logs why). `onCheck` hears how long
   * the check took when this call ran it (for Server-Timing).
   */
  verify(name: string, onCheck?: (ms: number) => void): Promise<void> {
    const entry = this.entry(name);
    if (!this.digests) return Promise.resolve();
    const want = this.digests[name];
    entry.verified ??= (async () => {
      const t0 = performance.now();
      entry.sha256 ??= await sha256Hex(entry.bytes);
      onCheck?.(performance.now() - t0);
      if (entry.error) return;
      if (want === undefined)
        this.broken(
          name,
          entry,
          new Error("its weights are not in the bundle's manifest; record them (npm run check:weights) and redeploy"),
          "is not in the manifest",
        );
      else if (entry.sha256 !== want)
        this.broken(
          name,
          entry,
          new Error(`its weights have sha256 ${entry.sha256}, not the ${want} the bundle's manifest records; the deployed bundle is corrupt, deploy it again`),
          "failed its digest check",
        );
    })();
    return entry.verified;
  }

  /** What the contract says of a model, from its header alone (no decoding). */
  header(name: string): ModelHeader {
    const entry = this.entry(name);
    if (entry.header) return entry.header;
    if (entry.error) throw new ModelUnavailableError(name, entry.error);
    try {
      entry.header = describeHeader(readSafetensorsHeader(entry.bytes));
    } catch (e) {
      throw this.broken(name, entry, e, "header failed to parse");
    }
    return entry.header;
  }

  /**
   * The decoded model, decoding it on first use. `onDecode` hears how long a
   * decode took when this call did one (for Server-Timing).
   */
  get(name: string, onDecode?: (ms: number) => void): ModelFile {
    const entry = this.entry(name);
    if (entry.model) return entry.model;
    if (entry.error) throw new ModelUnavailableError(name, entry.error);
    const t0 = performance.now();
    try {
      entry.model = decodeModel(entry.bytes);
    } catch (e) {
      throw this.broken(name, entry, e, "failed to decode");
    }
    entry.header = entry.model;
    onDecode?.(performance.now() - t0);
    return entry.model;
  }

  /** The model card; a model whose weights are broken says so with available: false. */
  async card(name: string): Promise<ModelCard> {
    const entry = this.entry(name);
    await this.verify(name);
    let header: ModelHeader | undefined;
    try {
      header = this.header(name);
    } catch {
      /* recorded in entry.error and shown on the card */
    }
    entry.sha256 ??= await sha256Hex(entry.bytes);
    const acc = Number(header?.metadata.test_accuracy);
    return {
      name,
      default: name === this.defaultModel,
      architecture: { layers: header?.sizes ?? [], activations: header?.activations ?? [] },
      parameters: header?.parameters ?? 0,
      dtype: header?.dtype ?? "",
      bytes: entry.bytes.byteLength,
      sha256: entry.sha256,
      labels: header?.labels ?? [],
      input_shape: header?.inputShape ?? [],
      input_scale: header?.inputScale ?? 0,
      test_accuracy: header?.metadata.test_accuracy !== undefined && Number.isFinite(acc) ? acc : null,
      decoded: entry.model !== undefined,
      available: entry.error === undefined,
      ...(entry.error ? { error: entry.error } : {}),
      metadata: header?.metadata ?? {},
    };
  }

  /** Every model's card. */
  cards(): Promise<ModelCard[]> {
    return Promise.all(this.names().map((name) => this.card(name)));
  }

  /** Models known to be broken (a failed digest check, header or decode); untried ones are not checked here. */
  failures(): { name: string; error: string }[] {
    return [...this.entries].filter(([, e]) => e.error !== undefined).map(([name, e]) => ({ name, error: e.error as string }));
  }
}
