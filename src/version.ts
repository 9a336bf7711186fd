// The service's version, from package.json alone. A named import: the
// Worker's build (esbuild) then bundles this one field, not the whole file.
import { version } from "../package.json";

export const VERSION: string = version;
