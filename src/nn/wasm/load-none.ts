// Where neither Node nor workerd runs this code (the browser page): no Wasm
// kernel, so forward uses the JS kernels.
export const modules: { simd: WebAssembly.Module; relaxed?: WebAssembly.Module } | undefined = undefined;
