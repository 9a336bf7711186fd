import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";

// Two projects: the math, weights format and Node scripts run in Node; the
// service runs inside workerd, exactly as deployed, with the unit tests
// beside each src/http module. Its main module is the source (wrangler.toml's
// is the build of it, scripts/build-worker.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["src/**/*.test.ts", "scripts/**/*.test.ts", "test/node/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "src/http/**"],
          environment: "node",
          testTimeout: 300_000,
        },
      },
      {
        plugins: [cloudflareTest({ main: "./src/index.ts", wrangler: { configPath: "./wrangler.toml" } })],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts", "src/http/**/*.test.ts"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
