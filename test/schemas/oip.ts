// JSON Schemas of the Open Inference Protocol's REST answers, written from
// its specification (kserve/open-inference-protocol,
// specification/protocol/open_inference_rest.yaml and inference_rest.md).
// Where the YAML is looser than the prose, the prose wins: tensor shapes are
// integers (-1 for a variable dimension in metadata), datatypes are the
// specification's "Tensor Data Types", model_version is optional, and an
// error is an object with a descriptive "error" string.

/** The specification's tensor data types. */
export const DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"] as const;

const parameters = { type: "object" };

/** tensor_data: row-major values, flat or nested (by the shape's dimensions). */
const tensorData = {
  type: "array",
  items: { anyOf: [{ $ref: "#/definitions/tensor_data" }, { type: "number" }, { type: "string" }, { type: "boolean" }] },
};

const metadataTensor = {
  type: "object",
  required: ["name", "datatype", "shape"],
  properties: {
    name: { type: "string", minLength: 1 },
    datatype: { enum: DATATYPES },
    shape: { type: "array", items: { type: "integer", minimum: -1 } },
  },
};

const error = {
  type: "object",
  required: ["error"],
  properties: { error: { type: "string", minLength: 1 } },
};

/** One JSON Schema (draft-07) document; each answer is one of its definitions. */
export const oipSchemas = {
  $id: "https://github.com/kserve/open-inference-protocol/specification/protocol/open_inference_rest.yaml",
  definitions: {
    parameters,
    tensor_data: tensorData,
    metadata_tensor: metadataTensor,
    metadata_server_response: {
      type: "object",
      required: ["name", "version", "extensions"],
      properties: { name: { type: "string" }, version: { type: "string" }, extensions: { type: "array", items: { type: "string" } } },
    },
    metadata_server_error_response: error,
    metadata_model_response: {
      type: "object",
      required: ["name", "platform", "inputs", "outputs"],
      properties: {
        name: { type: "string" },
        versions: { type: "array", items: { type: "string" } },
        platform: { type: "string" },
        inputs: { type: "array", items: { $ref: "#/definitions/metadata_tensor" } },
        outputs: { type: "array", items: { $ref: "#/definitions/metadata_tensor" } },
      },
    },
    metadata_model_error_response: error,
    ready_model_response: {
      type: "object",
      required: ["name", "ready"],
      properties: { name: { type: "string" }, ready: { type: "boolean" } },
    },
    ready_server_response: {
      type: "object",
      required: ["ready"],
      properties: { ready: { type: "boolean" }, live: { type: "boolean" } },
    },
    // The specification defines request_input and response_output alike: one tensor.
    tensor: {
      type: "object",
      required: ["name", "shape", "datatype", "data"],
      properties: {
        name: { type: "string" },
        shape: { type: "array", items: { type: "integer", minimum: 0 } },
        datatype: { enum: DATATYPES },
        parameters: { $ref: "#/definitions/parameters" },
        data: { $ref: "#/definitions/tensor_data" },
      },
    },
    live_server_response: {
      type: "object",
      required: ["live"],
      properties: { live: { type: "boolean" } },
    },
    request_input: { $ref: "#/definitions/tensor" },
    request_output: {
      type: "object",
      required: ["name"],
      properties: { name: { type: "string" }, parameters: { $ref: "#/definitions/parameters" } },
    },
    inference_request: {
      type: "object",
      required: ["inputs"],
      properties: {
        id: { type: "string" },
        parameters: { $ref: "#/definitions/parameters" },
        inputs: { type: "array", items: { $ref: "#/definitions/request_input" } },
        outputs: { type: "array", items: { $ref: "#/definitions/request_output" } },
      },
    },
    response_output: { $ref: "#/definitions/tensor" },
    inference_response: {
      type: "object",
      required: ["model_name", "outputs"],
      properties: {
        model_name: { type: "string" },
        model_version: { type: "string" },
        id: { type: "string" },
        parameters: { $ref: "#/definitions/parameters" },
        outputs: { type: "array", items: { $ref: "#/definitions/response_output" } },
      },
    },
    inference_error_response: error,
    // Triton's extensions (server docs/protocol): statistics and the model repository index.
    duration_stat: {
      type: "object",
      required: ["count", "ns"],
      properties: { count: { type: "integer", minimum: 0 }, ns: { type: "integer", minimum: 0 } },
    },
    stats_model_response: {
      type: "object",
      required: ["model_stats"],
      properties: {
        model_stats: {
          type: "array",
          items: {
            type: "object",
            required: ["name", "last_inference", "inference_count", "execution_count", "inference_stats", "batch_stats"],
            properties: {
              name: { type: "string" },
              version: { type: "string" },
              last_inference: { type: "number", minimum: 0 },
              inference_count: { type: "number", minimum: 0 },
              execution_count: { type: "number", minimum: 0 },
              inference_stats: {
                type: "object",
                required: ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output"],
                properties: {
                  success: { $ref: "#/definitions/duration_stat" },
                  fail: { $ref: "#/definitions/duration_stat" },
                  queue: { $ref: "#/definitions/duration_stat" },
                  compute_input: { $ref: "#/definitions/duration_stat" },
                  compute_infer: { $ref: "#/definitions/duration_stat" },
                  compute_output: { $ref: "#/definitions/duration_stat" },
                  cache_hit: { $ref: "#/definitions/duration_stat" },
                },
              },
              batch_stats: {
                type: "array",
                items: {
                  type: "object",
                  required: ["batch_size", "compute_input", "compute_infer", "compute_output"],
                  properties: {
                    batch_size: { type: "number", minimum: 1 },
                    compute_input: { $ref: "#/definitions/duration_stat" },
                    compute_infer: { $ref: "#/definitions/duration_stat" },
                    compute_output: { $ref: "#/definitions/duration_stat" },
                  },
                },
              },
            },
          },
        },
      },
    },
    stats_model_error_response: error,
    repository_index_response: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "state", "reason"],
        properties: { name: { type: "string" }, version: { type: "string" }, state: { type: "string" }, reason: { type: "string" } },
      },
    },
    repository_index_error_response: error,
  },
} as const;

export type OipDefinition = keyof typeof oipSchemas.definitions;

/**
 * Which definition a 2xx answer to `method path` must satisfy, or undefined
 * for a path the protocol does not define. Errors are `*_error_response`.
 */
export function oipAnswer(method: string, path: string): OipDefinition | undefined {
  const p = path.split("?")[0].replace(/\/+$/, "") || "/";
  if (method === "GET" && p === "/v2") return "metadata_server_response";
  if (method === "GET" && p === "/v2/health/live") return "live_server_response";
  if (method === "GET" && p === "/v2/health/ready") return "ready_server_response";
  if (method === "GET" && /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/ready$/.test(p)) return "ready_model_response";
  if (method === "GET" && /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?$/.test(p) && p !== "/v2/models/stats") return "metadata_model_response";
  if (method === "POST" && /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer$/.test(p)) return "inference_response";
  if (method === "GET" && /^\/v2\/models(\/[^/]+(\/versions\/[^/]+)?)?\/stats$/.test(p)) return "stats_model_response";
  if (method === "POST" && p === "/v2/repository/index") return "repository_index_response";
  return undefined;
}
