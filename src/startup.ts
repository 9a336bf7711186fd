// What an isolate does as it starts, in one place: src/index.ts calls
// warmUp once, in the Worker's global scope (which may take up to a second),
// so that none of it falls on a first request. Importing a module of src/
// does no work; only this does.
import type { Backend } from "./nn/backend";
import { decodeModel } from "./model/format";

/** The warm model's safetensors header: one I8 weight with its scale and a bias, nine zero bytes after it. */
const WARM_HEADER =
  '{"__metadata__":{"activations":"identity","labels":"[\\"warm\\"]","input_shape":"1","input_scale":"255"},' +
  '"layers.0.weight_scale":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
  '"layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' +
  '"layers.0.weight":{"dtype":"I8","shape":[1,1],"data_offsets":[8,9]}}';

/**
 * A one-weight I8 model (the bundled dtype) as encodeModel writes it
 * (src/startup.test.ts holds them to the same bytes), spelled out so that
 * start-up does not compile the encoder, which a request never runs: the
 * header's length (u64, little-endian), the header padded with spaces to 8
 * bytes, then the data, all zeros.
 */
export function warmModel(): Uint8Array {
  const json = new TextEncoder().encode(WARM_HEADER);
  const n = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + n + 9);
  new DataView(bytes.buffer).setUint32(0, n, true);
  bytes.fill(0x20, 8, 8 + n);
  bytes.set(json, 8);
  return bytes;
}

/**
 * Prepares the code a first request runs, and nothing else (every cold
 * start pays for it: `npx wrangler check startup`): a one-weight I8 model
 * (the bundled dtype, warmModel) is decoded into the backend. V8 compiles a function on
 * its first call, and this runs the header reader (and the runtime's UTF-8
 * converter), the contract check and the backend's load once. Its few
 * hundred bytes stay in the backend's memory. The kernel's exports are not each run
 * once here: that took start-up about 3 ms and the first prediction,
 * which compiles the few exports it calls, measured no faster for it
 * (BENCHMARKS.md, "Start-up: the kernel's exports and the router").
 * No schema is built: a prediction without query options and with the
 * common JSON body (src/http/json-scan.ts) or a binary one needs none, and
 * each route builds its own on first use (src/http/described.ts). The
 * bundled weights themselves are decoded lazily, on each model's first
 * request; the OpenAPI document on its first request (src/app.ts).
 *
 * @example
 * const registry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
 * warmUp({ backend: registry.backend });
 */
export function warmUp({ backend }: { backend: Backend }): void {
  decodeModel(warmModel(), backend);
}
