// Starts Swagger UI on /openapi.json. validatorUrl: null keeps it from
// asking validator.swagger.io about the document: nothing leaves this origin.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
