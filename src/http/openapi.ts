import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import pkg from "../../package.json" with { type: "json" };
import { HEADERS, ProblemSchema, SECURITY_SCHEMES } from "./openapi-models";
import {
  type DocumentedRoute,
  type PathsDocument,
  restoreRouteDetail,
  withoutSchemaIds,
} from "./openapi-restore";

const ASSETS = "/swagger/assets";
const SPEC_PATH = "/swagger/json";
const HIDDEN = { detail: { hide: true } };

export interface OpenapiDocsOptions {
  /** The admin routes are mounted (ADMIN_TOKEN is set): their tag and security scheme are documented. */
  admin: boolean;
  /** Every route of the app, read when the document is first asked for (for restoreRouteDetail). */
  routes: () => readonly DocumentedRoute[];
  /** Throws when the caller may not read the docs (DOCS_ACCESS=token). Default: anyone may. */
  authorize?: (request: Request) => void;
  /** The console provider runs: codes are printed in the gateway's log, and the page says so. */
  consoleCodes?: boolean;
}

/**
 * The OpenAPI document at /swagger/json and a Swagger UI at /swagger. The document is
 * @elysiajs/openapi's: made from every mounted route's own schemas (`body`, `params`,
 * `headers`, `response`, named by `.model()`) and `detail`, plus `documentation` for
 * what no route says. The UI's script and stylesheet are served by the gateway
 * (embedded in the binary), never from a CDN, and are read only when asked for.
 */
export function openapiDocs({
  admin,
  routes,
  authorize = () => {},
  consoleCodes = false,
}: OpenapiDocsOptions) {
  // Serialised once, on the first request for it, and kept as text: the plugin hands back the
  // document as an object, which Elysia would serialise for every request (about 300 µs of CPU
  // each), and it is public by default.
  let document: string | undefined;
  return (
    new Elysia({ name: "openapi-docs" })
      // Where a browser lands first: the docs.
      .get("/", ({ redirect }) => redirect("/swagger", 302), HIDDEN)
      // Local to these routes: DOCS_ACCESS=token puts the page, the document and the assets behind ADMIN_TOKEN.
      .onBeforeHandle(({ request }) => authorize(request))
      .get(
        "/swagger",
        () => new Response(SWAGGER_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }),
        HIDDEN,
      )
      .get(
        `${ASSETS}/swagger-ui-bundle.js`,
        () => asset(bundlePath, "text/javascript; charset=utf-8"),
        HIDDEN,
      )
      .get(`${ASSETS}/swagger-ui.css`, () => asset(cssPath, "text/css; charset=utf-8"), HIDDEN)
      // Only the plugin's route, registered below, answers through this.
      .onAfterHandle(({ responseValue }) => {
        document ??= JSON.stringify(
          withoutSchemaIds(restoreRouteDetail(responseValue as PathsDocument, routes())),
        );
        return new Response(document, { headers: { "content-type": "application/json" } });
      })
      .use(
        openapi({
          path: "/swagger",
          specPath: SPEC_PATH,
          // Our own page above (offline), not the plugin's (a CDN's script).
          provider: null,
          openapiVersion: "3.1.0",
          documentation: documentation(admin, consoleCodes),
        }),
      )
  );
}

/** What no route says: the API as a whole, its tags, and the components the operations refer to. */
function documentation(admin: boolean, consoleCodes: boolean) {
  return {
    info: {
      title: "otp-gateway",
      version: pkg.version,
      description:
        (consoleCodes ? `${CONSOLE_NOTE}\n\n` : "") +
        "Send one-time codes by SMS and verify them. Errors are `application/problem+json` (RFC 9457) " +
        "with a stable `code`, the request id, and a `type` that links to a page about the problem " +
        "(`/problems/<code>`). Every response carries `X-Request-Id`.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "/", description: "This gateway" }],
    tags: [
      { name: "OTP", description: "Send and verify one-time codes" },
      { name: "Health", description: "Liveness and readiness probes (no key needed)" },
      ...(admin
        ? [
            {
              name: "Admin",
              description: "The spend guard's operator routes (only with ADMIN_TOKEN; send it as Bearer)",
            },
          ]
        : []),
    ],
    components: {
      // Not a route's model: problems are thrown, and problemResponses (openapi-detail.ts) refer to it.
      schemas: { Problem: ProblemSchema },
      headers: HEADERS,
      // The admin token only where the admin routes are mounted.
      securitySchemes: admin ? SECURITY_SCHEMES : { callerKey: SECURITY_SCHEMES.callerKey },
    },
  };
}

/** What the page says first when the console provider runs. */
export const CONSOLE_NOTE =
  "**This gateway sends no SMS: it runs the console provider.** A code you send is printed in the " +
  "gateway's log (the line `console provider: OTP code`, whose `providerId` ends the `verificationId` the " +
  "send answered); " +
  "read it there and try it in verify. Set `OTP_PROVIDER=startmessaging` and `STARTMESSAGING_API_KEY` " +
  "to send real SMS.";

function asset(path: string, type: string): Response {
  return new Response(Bun.file(path), {
    headers: { "content-type": type, "cache-control": "public, max-age=86400" },
  });
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
    window.ui = SwaggerUIBundle({ url: "${SPEC_PATH}", dom_id: "#swagger-ui", deepLinking: true, tryItOutEnabled: true });
  </script>
</body>
</html>
`;
