// The binary form's header and content type (the binary tensor data
// extension, src/http/oip-binary.ts): the routes document them and the codec
// reads and writes them. Apart, so that declaring the routes at start-up
// does not load the codec.

/** The HTTP header giving the length of the JSON part of a binary-form body. */
export const HEADER_LENGTH = "Inference-Header-Content-Length";

/** What a binary answer is sent as; Triton sends the same. */
export const BINARY_TYPE = "application/octet-stream";
