// The command line of every script: node:util parseArgs, --help (-h), and one
// way to refuse: `<name>: <what is wrong>` then the usage, exit code 2, never
// a stack trace. Numbers are read by the same few checks everywhere.
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

/** A mistake in the command line; its message says what to change. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** The script's name, first on every error line, e.g. "eval". */
  name: string;
  /** The whole usage text, printed by --help and after every refusal. */
  usage: string;
  /** Its options, as parseArgs takes them; --help is added. */
  options: O;
  /** Whether it takes positional arguments. @default false */
  positionals?: boolean;
}

const HELP = { help: { type: "boolean", short: "h" } } as const;
type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O & typeof HELP; allowPositionals: true; strict: true }>>["values"];
/** The options given as strings (or with a string default). */
type StringKey<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]: O[K]["type"] extends "string" ? (O[K]["multiple"] extends true ? never : K) : never;
}[keyof O] &
  string;

export interface Range {
  /** @default -Infinity */
  min?: number;
  /** @default Infinity */
  max?: number;
  /** Refuses this number and anything below (for "positive": above 0). */
  above?: number;
  /** Used when the option is absent; without it, the option is required. */
  fallback?: number;
}

export interface Args<O extends ParseArgsOptionsConfig> {
  values: Values<O>;
  positionals: string[];
  /** Whether --help was given (`command` has printed the usage and exited by then). */
  help: boolean;
  /** `--key` as a whole number within the range. */
  integer(key: StringKey<O>, range?: Range): number;
  /** `--key` as a finite number within the range. */
  number(key: StringKey<O>, range?: Range): number;
}

function within(r: Range): string {
  const { min = -Infinity, max = Infinity } = r;
  if (r.above !== undefined) return ` above ${r.above}${max < Infinity ? ` and at most ${max}` : ""}`;
  if (min > -Infinity && max < Infinity) return ` from ${min} to ${max}`;
  if (min > -Infinity) return min === 0 ? " of 0 or more" : ` of at least ${min}`;
  if (max < Infinity) return ` of at most ${max}`;
  return "";
}

const refuse = (message: string): never => {
  throw new UsageError(message);
};

/** The command `command` parsed: `fail` reports for it. */
let running: CommandSpec<ParseArgsOptionsConfig> | undefined;

/**
 * Refuses the command line: prints `<name>: <message>` and the usage of the
 * command being run and exits 2 (outside `command`, throws UsageError).
 */
export function fail(message: string): never {
  if (!running) throw new UsageError(message);
  console.error(`${running.name}: ${message}\n${running.usage}`);
  process.exit(2);
}

/**
 * Parses `argv` by `spec`; throws UsageError instead of exiting, for callers
 * that report errors themselves.
 * @example
 * const args = parseCommand({ name: "x", usage, options: { runs: { type: "string", default: "10" } } }, ["--runs", "5"]);
 * args.integer("runs", { min: 1 }); // 5
 */
export function parseCommand<O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>, argv: string[]): Args<O> {
  let parsed: { values: Values<O>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...spec.options, ...HELP }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    // parseArgs's own messages name the flag ("Unknown option '--x'"); drop its advice about "--" which does not apply here.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const help = (parsed.values as { help?: boolean }).help === true;
  if (!spec.positionals && parsed.positionals.length && !help) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"; options start with --`);
  const read = (key: string, r: Range, integer: boolean): number => {
    const raw = (parsed.values as Record<string, unknown>)[key] as string | undefined;
    if (raw === undefined) return r.fallback ?? refuse(`--${key} is required`);
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    const ok = (integer ? Number.isSafeInteger(n) : Number.isFinite(n)) && n >= (r.min ?? -Infinity) && n <= (r.max ?? Infinity) && n > (r.above ?? -Infinity);
    if (!ok) refuse(`--${key} must be ${integer ? "a whole number" : "a number"}${within(r)}, got "${raw}"`);
    return n;
  };
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    help,
    integer: (key, range = {}) => read(key, range, true),
    number: (key, range = {}) => read(key, range, false),
  };
}

/**
 * A script's command line from process.argv: --help prints the usage and
 * exits 0; a mistake, here, in `integer` and `number` or through `fail`,
 * prints `<name>: <message>` and the usage and exits 2.
 * @example
 * const args = command({ name: "fuzz", usage: "usage: npm run fuzz [-- --runs N]", options: { runs: { type: "string", default: "100000" } } });
 * const runs = args.integer("runs", { min: 1 });
 * if (!existsSync(dir)) fail(`${dir} not found`);
 */
export function command<O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>, argv = process.argv.slice(2)): Args<O> {
  running = spec;
  const reported =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        if (e instanceof UsageError) fail(e.message);
        throw e;
      }
    };
  const args = reported(() => parseCommand(spec, argv))();
  if (args.help) {
    console.log(spec.usage);
    process.exit(0);
  }
  return { ...args, integer: reported(args.integer), number: reported(args.number) };
}
