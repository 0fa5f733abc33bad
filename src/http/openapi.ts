import { Elysia } from "elysia";
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import pkg from "../../package.json" with { type: "json" };
import { contract, type OperationDoc } from "./contract";

const ASSETS = "/swagger/assets";
const OPENAPI_VERSION = "3.1.0";

/**
 * The OpenAPI document at /swagger/json and a Swagger UI at /swagger. The
 * document is made from the operations of the mounted routes (contract.ts),
 * written next to each route from the schemas it validates with. The UI's
 * script and stylesheet are served by the gateway (embedded in the binary),
 * never from a CDN, and are read only when asked for.
 */
export function openapiDocs(operations: readonly OperationDoc[], authorize: (request: Request) => void = () => {}) {
  // Made once, on the first request for it, and kept as text: serialising the document cost
  // about 300 µs of CPU a request, and it is public by default.
  let document: string | undefined;
  return (
    new Elysia({ name: "openapi-docs" })
      // Local to these routes: DOCS_ACCESS=token puts the page, the document and the assets behind ADMIN_TOKEN.
      .onBeforeHandle(({ request }) => authorize(request))
      .get("/swagger", () => new Response(SWAGGER_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }))
      .get("/swagger/json", () => {
        document ??= JSON.stringify(buildDocument(operations));
        return new Response(document, { headers: { "content-type": "application/json" } });
      })
      .get(`${ASSETS}/swagger-ui-bundle.js`, () => asset(bundlePath, "text/javascript; charset=utf-8"))
      .get(`${ASSETS}/swagger-ui.css`, () => asset(cssPath, "text/css; charset=utf-8"))
  );
}

export function buildDocument(operations: readonly OperationDoc[]): Record<string, unknown> {
  const { paths, components } = contract(operations);
  const tags = [
    { name: "OTP", description: "Send and verify one-time codes" },
    { name: "Health", description: "Liveness and readiness probes (no key needed)" },
    { name: "Admin", description: "The spend guard's operator routes (only with ADMIN_TOKEN; send it as Bearer)" },
  ].filter((tag) => operations.some((op) => op.tag === tag.name));
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: "otp-gateway",
      version: pkg.version,
      description:
        "Send one-time codes by SMS and verify them. Errors are `application/problem+json` (RFC 9457) " +
        "with a stable `code`, the request id, and a `type` that links to a page about the problem " +
        "(`/problems/<code>`). Every response carries `X-Request-Id`.",
    },
    servers: [{ url: "/", description: "This gateway" }],
    tags,
    paths,
    components,
  };
}

function asset(path: string, type: string): Response {
  return new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });
}

const SWAGGER_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>otp-gateway API</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="${ASSETS}/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/swagger/json", dom_id: "#swagger-ui", deepLinking: true, tryItOutEnabled: true });
  </script>
</body>
</html>
`;
