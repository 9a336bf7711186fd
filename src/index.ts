// The Worker: the app over the bundled weights. Nothing is decoded here; a
// model's weights are decoded by the first request that needs them.
import { createApp } from "./app";

const app = createApp();

export default app;
export type { AppType } from "./app";
