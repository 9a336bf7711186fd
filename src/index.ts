// The Worker: the app over the bundled weights, in a registry that owns the
// backend they run in. Start-up is warmUp (src/startup.ts); a model's
// weights are decoded by the first request that needs them.
import { createApp } from "./app";
import { BUNDLED } from "./model/bundled";
import { DEFAULT_MODEL } from "./model/catalog";
import { BUNDLED_DIGESTS } from "./model/integrity";
import { ModelRegistry } from "./model/registry";
import { warmUp } from "./startup";

const registry = new ModelRegistry(BUNDLED, DEFAULT_MODEL, BUNDLED_DIGESTS);
warmUp({ backend: registry.backend });

const app = createApp(registry);

export default app;
export type { AppType } from "./app";
