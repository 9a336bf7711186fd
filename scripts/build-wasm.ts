// npm run build:wasm [-- --check]
// Compiles the kernel source (src/nn/wasm/kernel.ts, AssemblyScript) twice:
// kernel.wasm with 128-bit SIMD, kernel-relaxed.wasm with relaxed SIMD too.
// Both outputs are committed so a checkout runs without a build; --check
// rebuilds in memory and fails when they differ from the source's build.
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import asc from "assemblyscript/asc";
import { command } from "./lib/cli";
import { ROOT } from "./lib/paths";

const { values } = command({ name: "build:wasm", usage: "usage: npm run build:wasm [-- --check]", options: { check: { type: "boolean", default: false } } });
// asc reads its entry file from the current directory: name it from there.
const dir = relative(process.cwd(), join(ROOT, "src", "nn", "wasm")) || ".";
const common = [`${dir}/kernel.ts`, "-O3", "--noAssert", "--runtime", "stub"];
const builds = {
  "kernel.wasm": ["--enable", "simd"],
  "kernel-relaxed.wasm": ["--enable", "simd", "--enable", "relaxed-simd"],
};

let stale = 0;
for (const [name, flags] of Object.entries(builds)) {
  let binary: Uint8Array | undefined;
  const { error, stderr } = await asc.main([...common, ...flags, "-o", name], {
    writeFile(file: string, contents: Uint8Array | string) {
      if (file === name) binary = contents as Uint8Array;
    },
  });
  if (error || !binary) {
    console.error(`build:wasm: ${name} failed to compile:\n${stderr.toString()}`);
    process.exit(1);
  }
  const path = `${dir}/${name}`;
  if (values.check) {
    let committed: Uint8Array | undefined;
    try {
      committed = readFileSync(path);
    } catch {}
    const same = committed !== undefined && Buffer.compare(committed, binary) === 0;
    console.log(`${same ? "ok" : "STALE"} ${path} (${binary.length} bytes)`);
    if (!same) stale++;
  } else {
    writeFileSync(path, binary);
    console.log(`wrote ${path} (${binary.length} bytes)`);
  }
}
if (stale) {
  console.error(`build:wasm: ${stale} committed kernel(s) differ from their source; run \`npm run build:wasm\` and commit the .wasm files`);
  process.exit(1);
}
