// What the generated OpenAPI document cannot say from the schemas alone: a
// promise the handler keeps (src/http/input.ts readJson), written into the
// document here.
type Json = Record<string, unknown>;
type Doc = { components?: { schemas?: Record<string, Json> } };

/**
 * A PredictRequest has exactly one of `input` and `inputs` (checked by the
 * handler, which names the field): `oneOf`.
 */
export function finishDocument<T extends object>(generated: T): T {
  const doc = generated as Doc;
  const request = doc.components?.schemas?.PredictRequest;
  if (request) request.oneOf = [{ required: ["input"] }, { required: ["inputs"] }];
  return generated;
}
