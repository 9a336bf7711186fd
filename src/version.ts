// The service's version, from package.json alone.
import pkg from "../package.json";

export const VERSION: string = pkg.version;
