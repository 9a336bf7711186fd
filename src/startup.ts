// What an isolate does as it starts, in one place: src/index.ts calls
// warmUp once, in the Worker's global scope (which may take up to a second),
// so that none of it falls on a first request. Importing a module of src/
// does no work; only this does.
import type { Backend } from "./nn/backend";
import { decodeModel, encodeModel } from "./model/format";

/**
 * Prepares the code a first request runs, and nothing else (every cold
 * start pays for it: `npx wrangler check startup`): a one-weight I8 model
 * (the bundled dtype) is decoded into the backend. V8 compiles a function on
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
  decodeModel(
    encodeModel(
      { layers: [{ W: new Float32Array(1), b: new Float32Array(1), inSize: 1, outSize: 1, activation: "identity" }] },
      { dtype: "I8", labels: ["warm"], inputShape: [1] },
    ),
    backend,
  );
}
