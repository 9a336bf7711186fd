// Every answer the suites receive is checked twice (freshApp's `call` does it,
// see helpers.ts): against the Open Inference Protocol's schemas
// (test/schemas/oip.ts) when it is a /v2 answer, and against the service's
// own /openapi.json: its status must be documented for the operation, its
// Content-Type among those documented, and its body valid for the schema.
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { oipAnswer, oipSchemas } from "../schemas/oip";

type Fetch = (path: string, init?: RequestInit) => Response | Promise<Response>;

const oipAjv = new Ajv({ allErrors: false, strict: true });
oipAjv.addSchema(oipSchemas);

/** Why a /v2 answer breaks the protocol, or undefined. */
export function checkOip(method: string, path: string, status: number, type: string, body: unknown): string | undefined {
  const definition = status === 304 ? undefined : oipAnswer(method, path);
  if (definition === undefined) return undefined;
  const def = status < 300 ? definition : definition.replace(/_response$/, "_error_response").replace(/^(ready|live)_.*/, "inference_error_response");
  // Readiness answers with the ready object even when not ready.
  const schema = status >= 400 && /^ready_/.test(definition) && body && typeof body === "object" && "ready" in body ? definition : def;
  // The binary form (binary tensor data extension) of an answer is not JSON;
  // test/worker/oip-binary.test.ts decodes its header and checks it.
  if (status === 200 && definition === "inference_response" && type === "application/octet-stream") return undefined;
  if (!/^application\/json(;|$)/.test(type)) return `${method} ${path} → ${status} is ${type || "untyped"}, not application/json`;
  const validate = oipAjv.getSchema(`${oipSchemas.$id}#/definitions/${schema}`);
  if (!validate) return `no OIP schema ${schema}`;
  return validate(body) ? undefined : `${method} ${path} → ${status} is not an OIP ${schema}: ${oipAjv.errorsText(validate.errors)}`;
}

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>> };

/** A checker of answers against one app's /openapi.json, fetched once. */
export function openApiChecker(fetchApp: Fetch) {
  let ready: Promise<{ doc: OpenApi; ajv: Ajv2020; templates: [RegExp, string][] }> | undefined;
  const load = async () => {
    const doc = (await (await fetchApp("/openapi.json")).json()) as OpenApi;
    const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: false });
    addFormats(ajv);
    ajv.addSchema(doc as object, "openapi.json");
    const templates = Object.keys(doc.paths).map((t): [RegExp, string] => [new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`), t]);
    return { doc, ajv, templates };
  };
  return async function checkOpenApi(method: string, path: string, status: number, type: string, body: unknown): Promise<string | undefined> {
    ready ??= load();
    const { doc, ajv, templates } = await ready;
    const p = path.split("?")[0];
    const template = templates.find(([re]) => re.test(p))?.[1];
    const m = method.toLowerCase();
    // 304 answers a conditional GET: no body, nothing to check.
    if (template === undefined || m === "head" || m === "options" || status === 304) return undefined;
    const op = doc.paths[template][m];
    if (!op) return status === 405 ? undefined : `${method} ${template} → ${status}: the operation is not documented`;
    const response = op.responses?.[String(status)] ?? op.responses?.default;
    if (!response) return `${method} ${template} → ${status}: status not documented (documented: ${Object.keys(op.responses ?? {}).join(", ")})`;
    if (!response.content) return undefined;
    const media = type.split(";")[0].trim();
    const content = response.content[media];
    if (!content)
      return `${method} ${template} → ${status}: Content-Type ${media || "(none)"} not documented (documented: ${Object.keys(response.content).join(", ")})`;
    if (content.schema === undefined || body === undefined) return undefined;
    const pointer = ["paths", template, m, "responses", response === op.responses?.[String(status)] ? String(status) : "default", "content", media, "schema"]
      .map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1"))
      .join("/");
    const ref = `openapi.json#/${pointer}`;
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    return validate(body) ? undefined : `${method} ${template} → ${status} does not match /openapi.json: ${ajv.errorsText(validate.errors)}`;
  };
}
