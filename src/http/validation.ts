// Schema checks become 400 problems that point at the first bad element: the
// query string through validatedQuery() (zod-openapi's hook for any
// route that still declares its own), JSON bodies through jsonBody, which
// parses the bytes readBody read (src/http/body.ts).
import type { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import type { AppEnv } from "./env";
import { badRequest, excerpt, ProblemError } from "./problem";

type Issue = z.core.$ZodIssue;

/** RFC 6901: "/inputs/3/17"; "~" and "/" in keys are escaped. */
export function jsonPointer(path: PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/** The object schema at `path` inside `schema`, if the path leads to one. */
function objectAt(schema: z.ZodType, path: PropertyKey[]): z.ZodObject | undefined {
  let s = schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } };
  for (let i = 0; ; ) {
    const def = s._zod.def;
    if (def.type === "optional" || def.type === "nullable" || def.type === "default" || def.type === "pipe") {
      s = (def.innerType ?? def.in) as typeof s;
      continue;
    }
    if (i === path.length) return def.type === "object" ? (s as unknown as z.ZodObject) : undefined;
    const key = path[i++];
    if (def.type === "object") s = (def.shape as Record<PropertyKey, typeof s>)[key];
    else if (def.type === "array") s = def.element as typeof s;
    else return undefined;
    if (!s) return undefined;
  }
}

/**
 * What an issue says to a client. Unknown fields are named, with the fields
 * the object at that place takes when `schema` is known.
 */
function describeIssue(issue: Issue, schema?: z.ZodType): string {
  if (issue.code !== "unrecognized_keys") return issue.message;
  const keys = issue.keys;
  const named = keys
    .slice(0, 5)
    .map((k) => `"${excerpt(k)}"`)
    .join(", ");
  const allowed = schema ? objectAt(schema, issue.path) : undefined;
  return `unknown field${keys.length > 1 ? "s" : ""} ${named}${keys.length > 5 ? ", …" : ""}${allowed ? `; allowed: ${Object.keys(allowed.shape).join(", ")}` : ""}`;
}

/** The 400 of a failed check: where (body, query parameter, path parameter), the pointer, and what was expected. */
function invalid(issues: readonly Issue[], where: string, schema?: z.ZodType): never {
  const issue = issues[0];
  const pointer = jsonPointer(issue.path);
  throw new ProblemError(400, { detail: `${where}${pointer ? ` at ${pointer}` : ""}: ${describeIssue(issue, schema)}`, pointer, issues: issues.length });
}

/** zod-openapi's hook for query and path parameters: a failed check becomes a 400 problem. */
export function validationHook(result: { success: boolean; error?: { issues: readonly Issue[] }; target?: string }, _c: Context): void {
  if (result.success || !result.error) return;
  invalid(result.error.issues, result.target === "query" ? "query parameter" : result.target === "param" ? "path parameter" : (result.target ?? "request"));
}

/**
 * Route middleware that checks the query string with `schema()`, built (and
 * the schemas module loaded) on the route's first request with options, and
 * hands the handler what it parsed (`c.req.valid("query")`); a failed check
 * is validationHook's 400. An empty query string is {} without building the
 * schema: every query option is optional (schemas.test.ts holds each query
 * schema to it), so a prediction without options needs no zod at all.
 * Path parameters need no check at run time: see `matchedParams`.
 * @example validatedQuery(async () => (await schemas()).PredictQuery())
 */
export function validatedQuery(schema: () => Promise<z.ZodType>): MiddlewareHandler {
  return validator("query", async (value, c) => {
    if (Object.keys(value).length === 0) return {};
    const result = (await schema()).safeParse(value);
    validationHook({ ...result, target: "query" }, c);
    return result.data;
  });
}

/**
 * The request's JSON body (c.var.body, read by readBody), checked against
 * `schema`. Not JSON is a 400 whose text ends with `example`, the route's own
 * hint of what to send.
 * @example const body = jsonBody(c, PredictBody, 'send a JSON object such as {"input": [...784 numbers]}');
 */
export function jsonBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T, example: string, parsed?: unknown): z.output<T> {
  // `parsed`: JSON the caller has already read from the body (the JSON header of an OIP binary-form body).
  let value: unknown = parsed;
  if (value === undefined)
    try {
      value = JSON.parse(new TextDecoder().decode(c.var.body.bytes));
    } catch {
      badRequest(`the body is not valid JSON; ${example}`);
    }
  const result = schema.safeParse(value);
  if (!result.success) invalid(result.error.issues, "body", schema);
  return result.data;
}

/**
 * Route middleware that hands the handler the path parameters as the router
 * matched them (`c.req.valid("param")`), without building their schema:
 * each is a non-empty string, and every path parameter schema takes any
 * string (schemas.test.ts holds each to it). Loading zod for it was most of
 * a model's first request by path.
 */
export const matchedParams: MiddlewareHandler = validator("param", (value) => value);
