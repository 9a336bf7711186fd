import type { Context } from "hono";
import { excerpt, ProblemError } from "./problem";

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
}

/** RFC 6901: "/inputs/3/17"; "~" and "/" in keys are escaped. */
export function jsonPointer(path: PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * The zod-openapi hook: a failed schema check becomes a 400 problem naming
 * the first bad element with a JSON pointer and saying what was expected.
 */
export function validationHook(result: { success: boolean; error?: { issues: Issue[] }; target?: string }, _c: Context): void {
  if (result.success || !result.error) return;
  const issue = result.error.issues[0];
  const pointer = jsonPointer(issue.path);
  let detail = issue.message;
  if (issue.code === "invalid_union") detail = "expected a number (a pixel) or an array of numbers (a row of pixels)";
  else if (issue.code === "unrecognized_keys")
    detail = `unknown field${issue.keys && issue.keys.length > 1 ? "s" : ""} ${issue.keys
      ?.slice(0, 5)
      .map((k) => `"${excerpt(k)}"`)
      .join(", ")}${(issue.keys?.length ?? 0) > 5 ? ", …" : ""}; allowed: input, inputs, scale, top_k, output`;
  const where = result.target === "query" ? "query parameter" : result.target === "param" ? "path parameter" : "body";
  throw new ProblemError(400, { detail: `${where}${pointer ? ` at ${pointer}` : ""}: ${detail}`, pointer, issues: result.error.issues.length });
}
