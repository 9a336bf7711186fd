import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/client.ts" },
  outDir: "client/dist",
  format: ["esm"],
  target: "es2022",
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  clean: true,
});
