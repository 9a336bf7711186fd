// Builds the Worker's static assets (wrangler.toml [assets]) into dist-page/:
// the draw-a-digit page from page/ (its script bundled by esbuild, with the
// typed client and the shared preprocessing) and, for /docs, Swagger UI's
// files from swagger-ui-dist at the version package-lock.json pins. Nothing
// is loaded from a CDN: the page and the docs work offline.
//
//   npm run build:page          (run by predev, pretest, prebuild and predeploy)
import { cpSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { command } from "./lib/cli";
import { ROOT } from "./lib/paths";

command({ name: "build:page", usage: "usage: npm run build:page", options: {} });

const OUT = join(ROOT, "dist-page");
const PAGE = join(ROOT, "page");
const SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"];

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const result = await build({
  entryPoints: [join(PAGE, "main.ts")],
  outfile: join(OUT, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  minify: true,
  sourcemap: "linked",
  // The page uses the client as a consumer would, by its package name; here
  // from source, so the page builds without client/dist.
  alias: { "mnist-edge/client": join(ROOT, "src", "client.ts") },
  logLevel: "warning",
  metafile: true,
});
for (const f of ["index.html", "style.css"]) cpSync(join(PAGE, f), join(OUT, f));

const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const { version } = JSON.parse(readFileSync(join(swaggerDir, "package.json"), "utf8")) as { version: string };
mkdirSync(join(OUT, "swagger-ui"));
for (const f of SWAGGER_FILES) cpSync(join(swaggerDir, f), join(OUT, "swagger-ui", f));
cpSync(join(PAGE, "swagger-ui", "init.js"), join(OUT, "swagger-ui", "init.js"));

const kb = (path: string) => `${(statSync(path).size / 1024).toFixed(1)} KB`;
const inputs = Object.keys(result.metafile.inputs).length;
console.log(
  `dist-page/app.js ${kb(join(OUT, "app.js"))} (${inputs} modules); swagger-ui-dist ${version}: swagger-ui-bundle.js ${kb(join(OUT, "swagger-ui", "swagger-ui-bundle.js"))}`,
);
