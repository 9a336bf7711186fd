// What an isolate does as it starts, in one place: src/index.ts calls
// warmUp once, in the Worker's global scope (which may take up to a second),
// so that none of it falls on a first request. Importing a module of src/
// does no work; only this does.
import type { Backend } from "./nn/backend";
import { decodeModel, encodeModel } from "./model/format";
import type { ModelRegistry } from "./model/registry";
import { warmSchemas } from "./http/schemas";

/**
 * Prepares the backend and the code a first request runs:
 * 1. the backend runs each of its kernels once and makes room for every
 *    model of the registry decoded at once (F32 takes at most twice the
 *    bytes of an F16 file, plus the largest file's raw bytes while it
 *    converts), so a first decode neither grows nor faults in memory;
 * 2. a one-weight F16 model is decoded into it: V8 compiles a function on
 *    its first call, and this runs the header reader (and the runtime's
 *    UTF-8 converter), the contract check and the backend's load once. Its
 *    few hundred bytes stay in the backend's memory;
 * 3. the request schemas parse once (warmSchemas), building zod's parsers.
 * The bundled weights themselves are decoded lazily, on each model's first
 * request.
 *
 * @example
 * const registry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
 * warmUp({ backend: registry.backend, registry });
 */
export function warmUp({ backend, registry }: { backend: Backend; registry: ModelRegistry }): void {
  const sizes = registry.fileSizes();
  backend.warm(2 * sizes.reduce((a, b) => a + b, 0) + Math.max(0, ...sizes));
  decodeModel(
    encodeModel(
      { layers: [{ W: new Float32Array(1), b: new Float32Array(1), inSize: 1, outSize: 1, activation: "identity" }] },
      { dtype: "F16", labels: ["warm"], inputShape: [1] },
    ),
    backend,
  );
  warmSchemas();
}
