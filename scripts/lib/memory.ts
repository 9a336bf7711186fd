// The extra ArrayBuffer memory of one large binary request through the app's
// fetch, in this Node process: process.memoryUsage().arrayBuffers after a GC
// (before), right after the answer with no GC in between (every buffer the
// request allocated is still counted, so this is at least the peak), and
// after a GC again (what the request left behind).
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createApp } from "../../src/app";
import { ModelRegistry } from "../../src/model/registry";

/** V8's gc(), made reachable without starting Node with --expose-gc (on the first call, not on import). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

export interface MemoryFigure {
  images: number;
  bodyBytes: number;
  /** ArrayBuffer bytes, relative to before the request. */
  peak: number;
  after: number;
  status: number;
}

/** One request of `pixels` (N×784 bytes) to POST /v1/models/{model}/predict?output=label. */
export async function requestMemory(model: string, pixels: Uint8Array): Promise<MemoryFigure> {
  const bytes = readFileSync(`weights/${model}.safetensors`);
  const app = createApp(new ModelRegistry({ [model]: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) }, model));
  const url = `http://localhost/v1/models/${model}/predict?output=label`;
  const headers = { "Content-Type": "application/octet-stream" };
  // Decode the model and warm the code first: the figure is for the request alone.
  await (await app.request(url, { method: "POST", headers, body: pixels.slice(0, 784) })).arrayBuffer();
  const body = pixels.slice();
  const gc = collector();
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const res = await app.request(url, { method: "POST", headers, body });
  await res.text();
  const peak = process.memoryUsage().arrayBuffers - before;
  gc();
  const after = process.memoryUsage().arrayBuffers - before;
  return { images: pixels.length / 784, bodyBytes: body.length, peak, after, status: res.status };
}
