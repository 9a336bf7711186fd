import { describe, expect, it } from "vitest";
import { parseCommand, UsageError } from "./cli";

const spec = {
  name: "demo",
  usage: "usage: demo [--runs N] [--rate X] [--name S]",
  options: { runs: { type: "string", default: "10" }, rate: { type: "string" }, name: { type: "string" }, dry: { type: "boolean" } },
} as const;
const parse = (...argv: string[]) => parseCommand(spec, argv);
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("parseCommand", () => {
  it("should read options, their defaults and --help", () => {
    const args = parse("--name", "x", "--dry");
    expect(args.values).toEqual({ runs: "10", name: "x", dry: true });
    expect(args.help).toBe(false);
    expect(parse("-h").help).toBe(true);
    expect(parse("--help").help).toBe(true);
  });

  it("should refuse an unknown flag, naming it", () => {
    expect(refusal(() => parse("--nope"))).toMatch(/--nope/);
  });

  it("should refuse positionals unless the command takes them", () => {
    expect(refusal(() => parse("stray"))).toMatch(/unexpected argument "stray"/);
    expect(parseCommand({ ...spec, positionals: true }, ["a.pkl"]).positionals).toEqual(["a.pkl"]);
  });

  it("should read whole numbers within a range, from the default too", () => {
    expect(parse().integer("runs", { min: 1 })).toBe(10);
    expect(parse("--runs", "7").integer("runs", { min: 1, max: 7 })).toBe(7);
    expect(refusal(() => parse("--runs", "2.5").integer("runs"))).toBe('--runs must be a whole number, got "2.5"');
    expect(refusal(() => parse("--runs", "0").integer("runs", { min: 1 }))).toBe('--runs must be a whole number of at least 1, got "0"');
    expect(refusal(() => parse("--runs", "9").integer("runs", { min: 1, max: 8 }))).toBe('--runs must be a whole number from 1 to 8, got "9"');
    expect(refusal(() => parse("--runs", "").integer("runs"))).toMatch(/--runs must be a whole number/);
  });

  it("should read finite numbers, with a fallback or as required", () => {
    expect(parse("--rate", "0.25").number("rate", { above: 0, max: 1 })).toBe(0.25);
    expect(parse().number("rate", { fallback: 3 })).toBe(3);
    expect(refusal(() => parse().number("rate"))).toBe("--rate is required");
    expect(refusal(() => parse("--rate", "0").number("rate", { above: 0 }))).toBe('--rate must be a number above 0, got "0"');
    expect(refusal(() => parse("--rate", "Infinity").number("rate"))).toBe('--rate must be a number, got "Infinity"');
    expect(refusal(() => parse("--rate", "x").number("rate", { min: 0 }))).toBe('--rate must be a number of 0 or more, got "x"');
  });
});
