// --dtype on the command line of train, import and quantize: "int8" is how a
// user says it, "I8" how the file says it (safetensors' name).
import type { WeightDType } from "../../src/model/format";
import { fail } from "./cli";

/** The spellings --dtype takes, as usage texts show them. */
export const DTYPE_CHOICES = "F32|F16|int8";

const SPELLINGS: Record<string, WeightDType> = { f32: "F32", f16: "F16", int8: "I8", i8: "I8" };

/**
 * The file's dtype for a --dtype value, any case; "int8" (or "I8") is I8.
 * Refuses any other value through cli's fail (an exit 2, or a UsageError outside `command`).
 * @example
 * readDType("int8"); // "I8"
 */
export function readDType(text: string): WeightDType {
  return SPELLINGS[text.toLowerCase()] ?? fail(`--dtype must be F32, F16 or int8, got "${text}"`);
}

/** How a dtype is said on the command line: "int8" for I8. */
export const dtypeFlag = (d: WeightDType): string => (d === "I8" ? "int8" : d);
