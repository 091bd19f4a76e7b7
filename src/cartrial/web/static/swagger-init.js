// Starts Swagger UI on /api/v1/docs (templates/api_docs.html) with FastAPI's default settings; a file of
// the app rather than an inline script, which the Content-Security-Policy forbids (D-19.363). The schema
// and the OAuth2 redirect page are named by the page (data-openapi-url, data-oauth2-redirect-url).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // no badge fetched from validator.swagger.io: nothing asked of another host
    oauth2RedirectUrl: window.location.origin + root.dataset.oauth2RedirectUrl,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
