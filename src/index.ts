// The Worker: the app over the bundled weights. Nothing is decoded here; a
// model's weights are decoded by the first request that needs them.
import { createApp } from "./app";
import { bundledRegistry } from "./model/bundled";

const app = createApp(bundledRegistry);

export default app;
export type { AppType } from "./app";
