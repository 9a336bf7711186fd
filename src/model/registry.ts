// The lazy model registry: bundled weights stay as the raw bytes the bundle
// gave us until a request needs them, are checked against their digest and
// decoded once, into the registry's own backend, and stay decoded for the
// registry's life (dropping the registry frees them). Decoding is
// synchronous, and an isolate runs one piece of JavaScript at a time, so
// concurrent first requests cannot decode twice: the first one to run stores
// the result before any other can look.
import type { Backend } from "../nn/backend";
import { createBackend } from "../nn/backends";
import { decodeModel, type Model, type ModelSpec, readSpec } from "./format";
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
  spec?: ModelSpec;
  model?: Model;
  /** Why the weights are unusable, once the digest check, a header read or a decode failed. */
  error?: string;
  sha256?: string;
  /** The digest check against the bundle's manifest, run once per registry. */
  verified?: Promise<void>;
}

/** What a first use spent its time on, for Server-Timing: the digest check and the decode. */
export type Timing = (span: "verify" | "decode", ms: number) => void;

export class ModelRegistry {
  private entries = new Map<string, Entry>();

  /**
   * @param digests Each model's expected SHA-256 (the bundle's
   * weights/manifest.json); when given, a model serves only once its bytes
   * match, and a model without one never serves.
   * @param backend What decoded models run in; the registry owns it (a new one of its own unless given).
   */
  constructor(
    files: Record<string, ArrayBuffer>,
    public readonly defaultModel: string,
    private readonly digests?: Record<string, string>,
    readonly backend: Backend = createBackend(),
  ) {
    for (const [name, bytes] of Object.entries(files)) this.entries.set(name, { bytes });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The decoded model, checked against its digest and decoded on first use.
   * `onTiming` hears how long each step took when this call ran it.
   * @throws ModelUnavailableError when the weights are broken (digest, header or values).
   */
  async model(name: string, onTiming?: Timing): Promise<Model> {
    const entry = this.entry(name);
    await this.verify(name, entry, onTiming);
    if (entry.model) return entry.model;
    if (entry.error) throw new ModelUnavailableError(name, entry.error);
    const t0 = performance.now();
    try {
      entry.model = decodeModel(entry.bytes, this.backend);
    } catch (e) {
      throw this.broken(name, entry, e, "failed to decode");
    }
    entry.spec = entry.model;
    onTiming?.("decode", performance.now() - t0);
    return entry.model;
  }

  /**
   * What the contract says of a model, checked against its digest and read
   * from its header alone (no decoding).
   * @throws ModelUnavailableError when the weights are broken.
   */
  async spec(name: string): Promise<ModelSpec> {
    const entry = this.entry(name);
    await this.verify(name, entry);
    if (entry.spec) return entry.spec;
    if (entry.error) throw new ModelUnavailableError(name, entry.error);
    try {
      entry.spec = readSpec(readSafetensorsHeader(entry.bytes));
    } catch (e) {
      throw this.broken(name, entry, e, "header failed to parse");
    }
    return entry.spec;
  }

  /** The model card; a model whose weights are broken says so with available: false. */
  async card(name: string): Promise<ModelCard> {
    const entry = this.entry(name);
    let spec: ModelSpec | undefined;
    try {
      spec = await this.spec(name);
    } catch (e) {
      if (!(e instanceof ModelUnavailableError)) throw e; // recorded in entry.error and shown on the card
    }
    entry.sha256 ??= await sha256Hex(entry.bytes);
    const acc = Number(spec?.metadata.test_accuracy);
    return {
      name,
      default: name === this.defaultModel,
      architecture: { layers: spec?.sizes ?? [], activations: spec?.activations ?? [] },
      parameters: spec?.parameters ?? 0,
      dtype: spec?.dtype ?? "",
      bytes: entry.bytes.byteLength,
      sha256: entry.sha256,
      labels: spec?.labels ?? [],
      input_shape: spec?.inputShape ?? [],
      input_scale: spec?.inputScale ?? 0,
      test_accuracy: spec?.metadata.test_accuracy !== undefined && Number.isFinite(acc) ? acc : null,
      decoded: entry.model !== undefined,
      available: entry.error === undefined,
      ...(entry.error ? { error: entry.error } : {}),
      metadata: spec?.metadata ?? {},
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
   * Checks a model's bytes against its expected digest, once per registry:
   * a mismatch records why the model is unavailable (and logs it); the
   * callers above then refuse it.
   */
  private verify(name: string, entry: Entry, onTiming?: Timing): Promise<void> {
    if (!this.digests) return Promise.resolve();
    const want = this.digests[name];
    entry.verified ??= (async () => {
      const t0 = performance.now();
      entry.sha256 ??= await sha256Hex(entry.bytes);
      onTiming?.("verify", performance.now() - t0);
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
}

/** The SHA-256 of some bytes, as lowercase hex. */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
