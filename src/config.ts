// The service's limits and defaults, in one place. A deployment overrides
// them with Worker variables ([vars] in wrangler.toml, or the dashboard);
// unset or invalid values fall back to DEFAULTS.

/**
 * Defaults for the Worker variables of the same names.
 * - MAX_BODY_BYTES: largest request body in bytes, after gzip decoding too.
 * - MAX_BATCH: most images in one request.
 * - MAX_IMAGE_PIXELS: largest PNG or JPEG in pixels, read from its header before decoding.
 * - CORS_ORIGINS: comma list of allowed browser origins, or "*".
 */
export const DEFAULTS = {
  /** 8 MiB. */
  MAX_BODY_BYTES: 8 * 1024 * 1024,
  MAX_BATCH: 10_000,
  /** 4096 × 3072: a 12 MP phone photo (JPEGs that large are decoded at a reduced scale; PNGs stop at 2048 × 2048). */
  MAX_IMAGE_PIXELS: 4096 * 3072,
  CORS_ORIGINS: "*",
} as const;

/**
 * The pictures of one request together may hold this many times
 * MAX_IMAGE_PIXELS: decoding, not the network, is what costs, and a small
 * PNG can claim millions of blank pixels.
 */
export const IMAGE_PIXELS_PER_REQUEST = 8;

/** The most digits one picture may hold (POST /v1/read); more is an ImageError too-large (a 413). */
export const MAX_DIGITS = 20;

/** The Worker variables the limits are read from; any may be unset. */
export interface LimitVars {
  MAX_BODY_BYTES?: string;
  MAX_BATCH?: string;
  MAX_IMAGE_PIXELS?: string;
}

/** The limits every request is held to. */
export interface Limits {
  /** Largest body in bytes, before and after gzip decoding. */
  maxBodyBytes: number;
  /** Most images in one request. */
  maxBatch: number;
  /** Most pixels in one PNG or JPEG. */
  maxImagePixels: number;
  /** Most pixels in all the pictures of one request: IMAGE_PIXELS_PER_REQUEST × maxImagePixels. */
  maxRequestPixels: number;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

// One Limits per variables object: a deployed isolate sees the same env on
// every request, so the strings are parsed once, not on every use.
const parsed = new WeakMap<object, Limits>();

/**
 * The limits of a configuration; unset or invalid values are the defaults.
 * @example limitsOf({ MAX_BATCH: "100" }).maxBatch // 100
 */
export function limitsOf(vars: LimitVars | undefined): Limits {
  const key = vars ?? DEFAULTS;
  let l = parsed.get(key);
  if (!l) {
    const maxImagePixels = positiveInt(vars?.MAX_IMAGE_PIXELS, DEFAULTS.MAX_IMAGE_PIXELS);
    l = {
      maxBodyBytes: positiveInt(vars?.MAX_BODY_BYTES, DEFAULTS.MAX_BODY_BYTES),
      maxBatch: positiveInt(vars?.MAX_BATCH, DEFAULTS.MAX_BATCH),
      maxImagePixels,
      maxRequestPixels: IMAGE_PIXELS_PER_REQUEST * maxImagePixels,
    };
    parsed.set(key, l);
  }
  return l;
}

/** The browser origins CORS allows: "*", or the listed ones. */
export function corsOrigins(raw: string | undefined): "*" | string[] {
  const value = raw?.trim() || DEFAULTS.CORS_ORIGINS;
  if (value === "*") return "*";
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
