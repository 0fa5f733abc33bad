import { Elysia } from "elysia";
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import pkg from "../../package.json" with { type: "json" };
import { PROBLEM_CONTENT_TYPE } from "./problem";

const ASSETS = "/swagger/assets";
const OPENAPI_VERSION = "3.1.0";

/**
 * The OpenAPI document at /swagger/json and a Swagger UI at /swagger, both made
 * from the routes' own TypeBox schemas by @elysiajs/openapi's generator. We
 * render the page ourselves and finish the document (problem+json error bodies,
 * JSON-only request bodies, X-Request-Id and Retry-After headers), which the
 * plugin's page and generator cannot express. The UI's script and stylesheet
 * are served by the gateway (embedded in the binary), never from a CDN, and are
 * read only when asked for; the generator itself is loaded on the first request
 * for the document.
 */
export function openapiDocs(authorize: (request: Request) => void = () => {}) {
  const docs = new Elysia({ name: "openapi-docs" });
  let document: Record<string, unknown> | undefined;
  return (
    docs
      // Local to these routes: DOCS_ACCESS=token puts the page, the document and the assets behind ADMIN_TOKEN.
      .onBeforeHandle(({ request }) => authorize(request))
      .get("/swagger", () => new Response(SWAGGER_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }), {
        detail: { hide: true },
      })
      // Routes are fixed once the app is built, so the document is made once, on first request.
      .get("/swagger/json", async () => (document ??= await buildDocument(docs)), { detail: { hide: true } })
      .get(`${ASSETS}/swagger-ui-bundle.js`, () => asset(bundlePath, "text/javascript; charset=utf-8"), {
        detail: { hide: true },
      })
      .get(`${ASSETS}/swagger-ui.css`, () => asset(cssPath, "text/css; charset=utf-8"), { detail: { hide: true } })
  );
}

type Operation = {
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
};

const REQUEST_ID_HEADER = {
  description: "The request id: the caller's X-Request-Id when it is sane (1–128 of A-Z a-z 0-9 . _ : -), else a generated UUID.",
  schema: { type: "string" },
};
const RETRY_AFTER_HEADER = { description: "Whole seconds to wait before trying again.", schema: { type: "integer", minimum: 1 } };

export async function buildDocument(app: Elysia): Promise<Record<string, unknown>> {
  // Loaded on the first request for the document: serving sends never needs the
  // generator (its effect on idle memory is too small to measure; BENCHMARKS.md).
  const { toOpenAPISchema } = await import("@elysiajs/openapi");
  const { paths, components } = toOpenAPISchema(app, undefined, undefined, undefined, OPENAPI_VERSION) as {
    paths: Record<string, Record<string, Operation>>;
    components: Record<string, unknown>;
  };
  // Our strict JSON parser is a function, so the generator cannot tell the body's
  // media type and leaves `content` empty: put the route's own body schema back.
  // getGlobalRoutes is what @elysiajs/openapi itself reads; TypeScript marks it protected.
  const routes = (
    app as unknown as { getGlobalRoutes(): { method: string; path: string; hooks?: { body?: unknown } }[] }
  ).getGlobalRoutes();
  const bodies = new Map(routes.map((r) => [`${r.method.toLowerCase()} ${r.path}`, r.hooks?.body]));
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const schema = bodies.get(`${method} ${path}`);
      if (op.requestBody && schema) op.requestBody.content = { "application/json": { schema } };
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        response.headers = {
          "X-Request-Id": REQUEST_ID_HEADER,
          ...(status === "429" ? { "Retry-After": RETRY_AFTER_HEADER } : {}),
        };
        const schema = response.content?.["application/json"];
        if (Number(status) >= 400 && schema) response.content = { [PROBLEM_CONTENT_TYPE]: schema };
      }
    }
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: "otp-gateway",
      version: pkg.version,
      description:
        "Send one-time codes by SMS and verify them. Errors are `application/problem+json` (RFC 9457) " +
        "with a stable `code` and the request id. Every response carries `X-Request-Id`.",
    },
    tags: [
      { name: "OTP", description: "Send and verify one-time codes" },
      { name: "Health", description: "Liveness and readiness probes" },
      { name: "Admin", description: "The spend guard's operator routes (only with ADMIN_TOKEN; send it as Bearer)" },
    ],
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
