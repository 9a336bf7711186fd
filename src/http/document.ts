// What the generated OpenAPI document cannot say from the schemas alone.
// The routes validate with zod (src/http/schemas.ts); a few promises are kept
// by the handlers instead, and are written into the document here.
type Json = Record<string, unknown>;
type Doc = { paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> } };

/** Operations that run a model take a body; the route leaves `required` off so a binary body reaches its handler. */
const PREDICT = ["/v1/predict", "/v1/models/{model}/predict"];

/**
 * - predict requires a body (JSON or binary): `requestBody.required`;
 * - a PredictRequest has exactly one of `input` and `inputs` (checked by the
 *   handler, which names the field): `oneOf`.
 */
export function finishDocument<T extends object>(generated: T): T {
  const doc = generated as Doc;
  for (const path of PREDICT) {
    const body = doc.paths?.[path]?.post?.requestBody as Json | undefined;
    if (body) body.required = true;
  }
  const request = doc.components?.schemas?.PredictRequest;
  if (request) request.oneOf = [{ required: ["input"] }, { required: ["inputs"] }];
  return generated;
}
