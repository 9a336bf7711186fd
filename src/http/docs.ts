// GET /docs: Swagger UI over /openapi.json, entirely from this Worker. Its
// script and styles are swagger-ui-dist's, at the version package-lock.json
// pins, copied by `npm run build:page` into the static assets under
// /swagger-ui/ (see wrangler.toml [assets]); nothing comes from a CDN, so
// the page works offline.
import type { Context } from "hono";

/** Where the static assets put swagger-ui-dist's files and the start-up script. */
const SWAGGER_UI_PATH = "/swagger-ui";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mnist-edge API</title>
<link rel="stylesheet" href="${SWAGGER_UI_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"><noscript>Swagger UI needs JavaScript; the API description itself is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
<script src="${SWAGGER_UI_PATH}/swagger-ui-bundle.js"></script>
<script src="${SWAGGER_UI_PATH}/init.js"></script>
</body>
</html>
`;

export function docsPage(c: Context): Response {
  return c.html(PAGE);
}
