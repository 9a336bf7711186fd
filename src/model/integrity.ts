// The digests the bundle was built with: weights/manifest.json, which
// `npm run check:weights` holds to the files before every deploy, is bundled
// into the Worker too, so each isolate can check a model's bytes against it
// once, before the model first serves (src/model/registry.ts).
import manifest from "../../weights/manifest.json";

/** Model name (file name without .safetensors) → the SHA-256 recorded for it. */
export const BUNDLED_DIGESTS: Record<string, string> = Object.fromEntries(
  Object.entries(manifest as Record<string, { sha256: string }>).map(([file, e]) => [file.replace(/\.safetensors$/, ""), e.sha256]),
);
