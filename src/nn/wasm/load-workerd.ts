// workerd: the kernel arrives precompiled, as wrangler's CompiledWasm modules
// (Workers cannot compile Wasm at run time). Both builds are bundled; the
// relaxed one needs relaxed SIMD, which workerd's V8 has.
import relaxed from "./kernel-relaxed.wasm";
import simd from "./kernel.wasm";

export const modules: { simd: WebAssembly.Module; relaxed?: WebAssembly.Module } | undefined = { simd, relaxed };
