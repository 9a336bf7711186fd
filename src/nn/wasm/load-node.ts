// Node (trainer, eval, bench, the node test project): reads the built kernel
// from disk and compiles it, synchronously. The relaxed build is used only
// where this runtime validates it.
import { readFileSync } from "node:fs";

// The Workers types declare Module abstract (workerd cannot compile at run
// time); Node can.
const Module = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;

function read(name: string): Uint8Array {
  return readFileSync(new URL(name, import.meta.url));
}

const relaxedBytes = read("./kernel-relaxed.wasm");

export const modules: { simd: WebAssembly.Module; relaxed?: WebAssembly.Module } | undefined = {
  simd: new Module(read("./kernel.wasm")),
  relaxed: WebAssembly.validate(relaxedBytes) ? new Module(relaxedBytes) : undefined,
};
