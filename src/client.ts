// A typed client for frontends and servers. hono/client types every route's
// JSON and form bodies and its answers from the app itself; the helpers below
// add the bodies it cannot type (raw pixels, IDX files, PNG/JPEG images).
//
// Built to client/dist by tsup (npm run build:client) for the published
// package: the declarations there name only `hono` types, so a consumer never
// compiles this project's server source.
import type { Hono } from "hono";
import { hc, type InferRequestType, type InferResponseType } from "hono/client";
import type { BlankEnv, Schema } from "hono/types";
import type { AppType as ServerApp } from "./app";
import type { AppEnv } from "./http/env";

// tsc prints an inferred type by its structure, not by the alias it came
// from: the declarations then spell the route schema out in hono's own types
// instead of importing the server's app (zod, the registry, ...).
declare function routesOf<S extends Schema>(app: Hono<AppEnv, S, "/">): Hono<BlankEnv, S, "/">;
function appType() {
  return routesOf(undefined as unknown as ServerApp);
}

/** The app's routes as hono/client sees them: `hc<AppType>(url)`. */
export type AppType = ReturnType<typeof appType>;

/** Options of hc(): a custom `fetch`, `headers` (an object or a function), `init`, ... */
export type ClientOptions = NonNullable<Parameters<typeof hc>[1]>;

type Routes = ReturnType<typeof hc<AppType>>;

/** A prediction's answer: one image (`label`, `probabilities`, ...), a batch (`predictions`) or just `labels`. */
export type PredictResponse = InferResponseType<Routes["v1"]["predict"]["$post"], 200>;
/** One image's prediction inside a batch answer. */
export type Prediction = NonNullable<PredictResponse["predictions"]>[number];
/** A number read in a picture (POST /v1/read): `text`, the picture's `width` and `height`, and its `digits`; or, for several pictures, `readings`. */
export type ReadResponse = InferResponseType<Routes["v1"]["read"]["$post"], 200>;
/** One picture's reading inside a ReadResponse. */
export type Reading = NonNullable<ReadResponse["readings"]>[number];
/** One digit read: its `label`, `probability`, `box` ([x, y, w, h] in the picture's own pixels, as shown) and `top` classes. */
export type ReadDigit = Reading["digits"][number];
/** A model's card, as GET /v1/models/{model} answers. */
export type ModelCard = InferResponseType<Routes["v1"]["models"][":model"]["$get"], 200>;
/** GET /v1/models: the default model's name and every card. */
export type ModelList = InferResponseType<Routes["v1"]["models"]["$get"], 200>;
type PredictQuery = NonNullable<InferRequestType<Routes["v1"]["predict"]["$post"]>["query"]>;
/** What to answer: probabilities (softmax), logits, or only the label. */
export type OutputKind = NonNullable<PredictQuery["output"]>;
/** How a picture becomes 28×28: MNIST's recipe (default), or none for a picture that is 28×28 already. */
export type Preprocess = NonNullable<PredictQuery["preprocess"]>;

/** An RFC 9457 problem, as every error of the service is. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  pointer?: string;
  request_id?: string;
  [member: string]: unknown;
}

/** Thrown by the helpers for any answer that is not 2xx; `problem` holds the service's explanation. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
  }
}

export interface PredictOptions {
  /** A bundled model's name; the service's default model when omitted. */
  model?: string;
  /** @default "probabilities" */
  output?: OutputKind;
  /** How many best classes to list in `top`. @default 3 */
  top_k?: number;
  /** Passed to fetch, e.g. to cancel a stale request. */
  signal?: AbortSignal;
}

export interface ImageOptions extends PredictOptions {
  /** Add `input`, the 28 rows of 28 bytes the network saw (0 = background, 255 = ink), and `inverted`. @default false */
  debug?: boolean;
  /** @default "mnist" */
  preprocess?: Preprocess;
}

export interface ReadOptions {
  /** A digits model's name; the service's default model when omitted. */
  model?: string;
  /** How many best classes to list in each digit's `top`. @default 3 */
  top_k?: number;
  /** Passed to fetch, e.g. to cancel a stale request. */
  signal?: AbortSignal;
}

/** Image bodies: a File or Blob (its type is used), or the bytes of a PNG or JPEG file. */
export type ImageBody = Blob | Uint8Array;

export interface Helpers {
  /**
   * Classifies raw pixels: N×784 bytes (0 = background, 255 = ink), or a whole
   * IDX3 image file (optionally gzip'd), sent as application/octet-stream.
   * @example
   * const { label } = await api.predictPixels(pixels); // pixels: Uint8Array(784)
   * const { labels } = await api.predictPixels(idxFile, { output: "label" });
   */
  predictPixels(bytes: Uint8Array, options?: PredictOptions): Promise<PredictResponse>;
  /**
   * Classifies a PNG or JPEG of any size: the service fits the ink into MNIST's 28×28.
   * @example
   * const { label, input } = await api.predictImage(file, { debug: true });
   */
  predictImage(image: ImageBody, options?: ImageOptions): Promise<PredictResponse>;
  /**
   * Classifies several PNG/JPEG images in one multipart/form-data request; the
   * answer's `predictions` are in the order given.
   */
  predictImages(images: ImageBody[], options?: ImageOptions): Promise<PredictResponse>;
  /**
   * Reads a number (one or more digits in a row) in a PNG or JPEG: `text`,
   * and each digit's label, probability and box in the picture's own pixels
   * (after its EXIF Orientation), left to right.
   * @example
   * const { text, digits } = await api.readImage(photo); // "2026", [{ label: 2, box: [x, y, w, h], ... }, ...]
   */
  readImage(image: ImageBody, options?: ReadOptions): Promise<ReadResponse>;
  /** Reads a number in each of several pictures, in one multipart request: `readings`, in the order given. */
  readImages(images: ImageBody[], options?: ReadOptions): Promise<ReadResponse>;
}

/** The routes (hono/client) and the helpers for binary and image bodies. */
export type Client = Routes & Helpers;

/**
 * The image's Content-Type: a Blob's own, else JPEG or PNG by the first bytes.
 * Bytes that are neither go as PNG, which the service refuses with a 400 that says so.
 */
async function imageType(image: ImageBody): Promise<string> {
  if (image instanceof Blob && image.type) return image.type;
  const b = image instanceof Blob ? new Uint8Array(await image.slice(0, 3).arrayBuffer()) : image;
  return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff ? "image/jpeg" : "image/png";
}

/** A Blob over bytes; copies only when the view is not a plain ArrayBuffer (BodyInit's typing). */
function blobOf(image: ImageBody, type: string): Blob {
  if (image instanceof Blob) return image.type === type ? image : new Blob([image], { type });
  return new Blob([image.buffer instanceof ArrayBuffer ? (image as Uint8Array<ArrayBuffer>) : new Uint8Array(image)], { type });
}

function helpers(baseUrl: string, options: ClientOptions = {}): Helpers {
  const base = baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function post<T = PredictResponse>(opts: ImageOptions, body: BodyInit, contentType: string | undefined, route = "predict"): Promise<T> {
    const path = opts.model === undefined ? `/v1/${route}` : `/v1/models/${encodeURIComponent(opts.model)}/${route}`;
    const query = new URLSearchParams();
    if (opts.output) query.set("output", opts.output);
    if (opts.top_k !== undefined) query.set("top_k", String(opts.top_k));
    if (opts.preprocess) query.set("preprocess", opts.preprocess);
    if (opts.debug) query.set("debug", "1");
    const q = query.toString() ? `?${query}` : "";
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers;
    const headers = new Headers(extra);
    // multipart: fetch writes the Content-Type with its boundary.
    if (contentType) headers.set("Content-Type", contentType);
    const res = await doFetch(`${base}${path}${q}`, { ...options.init, method: "POST", headers, body, signal: opts.signal });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const p = (json ?? {}) as Partial<Problem>;
      throw new ApiError({ ...p, type: p.type ?? "about:blank", title: p.title ?? res.statusText, status: res.status, detail: p.detail ?? text });
    }
    if (json === undefined)
      throw new ApiError({ type: "about:blank", title: "not JSON", status: res.status, detail: `expected a JSON answer, got: ${text.slice(0, 200)}` });
    return json as T;
  }

  /** Several pictures as one multipart/form-data body, one file part each. */
  async function formOf(images: ImageBody[]): Promise<FormData> {
    const form = new FormData();
    for (const [i, image] of images.entries()) {
      const type = await imageType(image);
      form.append("image", blobOf(image, type), image instanceof File ? image.name : `image-${i}.${type === "image/jpeg" ? "jpg" : "png"}`);
    }
    return form;
  }

  return {
    predictPixels: (bytes, opts = {}) => post(opts, blobOf(bytes, "application/octet-stream"), "application/octet-stream"),
    predictImage: async (image, opts = {}) => {
      const type = await imageType(image);
      return post(opts, blobOf(image, type), type);
    },
    predictImages: async (images, opts = {}) => post(opts, await formOf(images), undefined),
    readImage: async (image, opts = {}) => {
      const type = await imageType(image);
      return post<ReadResponse>(opts, blobOf(image, type), type, "read");
    },
    readImages: async (images, opts = {}) => post<ReadResponse>(opts, await formOf(images), undefined, "read"),
  };
}

/**
 * A client for the service at `baseUrl`: every route typed from the app, plus
 * helpers for pixel, IDX and image bodies.
 * @example
 * const api = createClient("https://mnist-edge.example.workers.dev");
 * const res = await api.v1.predict.$post({ json: { input: pixels, top_k: 3 }, query: {} });
 * if (res.ok) console.log((await res.json()).label);
 * const { models } = await (await api.v1.models.$get()).json();
 * const { label } = await api.predictPixels(new Uint8Array(784), { model: "mnist-book" });
 */
export function createClient(baseUrl: string, options?: ClientOptions): Client {
  const routes = hc<AppType>(baseUrl, options);
  const extra = helpers(baseUrl, options);
  // hc's client is a Proxy that turns every property into a path segment;
  // the helpers are looked up first.
  return new Proxy(routes, {
    get: (target, key, receiver) => (typeof key === "string" && Object.hasOwn(extra, key) ? extra[key as keyof Helpers] : Reflect.get(target, key, receiver)),
  }) as Client;
}
