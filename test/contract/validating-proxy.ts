import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

import { type Json, resolveRef } from "../support/openapi-doc";

/** Headers every HTTP answer may carry whatever the document says (transport, CORS, caching). */
const TRANSPORT = new Set([
  "content-type",
  "content-length",
  "date",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "vary",
]);

/**
 * A response validator built with Ajv from the OpenAPI document, in front of
 * the gateway as a proxy: every answer to a documented operation is checked
 * against it (status declared, media type, body schema, required headers and
 * their schemas, and no header the document does not declare). What a
 * validating proxy such as Prism checks, for the parts this API uses.
 */
export function validatingProxy(doc: Json, target: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: "openapi.json" });
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  const validate = (schema: Json) => {
    const key = JSON.stringify(schema);
    let check = validators.get(key);
    if (!check) {
      // `$ref`s point into the document: rebase them on its $id.
      const rebased = JSON.parse(key.replaceAll('"#/components/', '"openapi.json#/components/'));
      check = ajv.compile(rebased);
      validators.set(key, check);
    }
    return check;
  };
  const resolve = (node: Json) => resolveRef(doc, node);
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    re: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));

  const violations: string[] = [];
  /** Every (operation, status) answered through the proxy. */
  const seen = new Set<string>();

  async function check(method: string, path: string, res: Response, body: string): Promise<void> {
    const template = templates.find((t) => t.re.test(path))?.template;
    const operation = template ? doc.paths[template][method.toLowerCase()] : undefined;
    if (!operation) return; // not a documented operation (a 404, the docs themselves)
    const where = `${method} ${path} → ${res.status}`;
    seen.add(`${operation.operationId} ${res.status}`);
    const declared = operation.responses[String(res.status)] ?? operation.responses.default;
    if (!declared) return void violations.push(`${where}: status not declared`);
    // A body that is not JSON where JSON is declared says all there is to say about this answer.
    if (!checkBody(where, declared, res, body)) return;
    checkHeaders(where, declared, res);
  }

  /** The media type and the body's schema; false when the body is not the JSON declared. */
  function checkBody(where: string, declared: Json, res: Response, body: string): boolean {
    const [essence = ""] = (res.headers.get("content-type") ?? "").split(";");
    const type = essence.trim();
    const media = declared.content?.[type];
    if (declared.content && !media) violations.push(`${where}: content type ${type} not declared`);
    if (!media?.schema) return true;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      violations.push(`${where}: body is not JSON`);
      return false;
    }
    const valid = validate(media.schema);
    if (!valid(value)) violations.push(`${where}: body ${ajv.errorsText(valid.errors)}`);
    return true;
  }

  /** Every declared header (present when required, of its schema), and no header undeclared. */
  function checkHeaders(where: string, declared: Json, res: Response): void {
    const headers = Object.fromEntries(
      Object.entries(declared.headers ?? {}).map(([name, h]) => [name.toLowerCase(), resolve(h as Json)]),
    );
    for (const [name, header] of Object.entries(headers)) {
      const problem = headerProblem(name, header, res.headers.get(name));
      if (problem) violations.push(`${where}: ${problem}`);
    }
    for (const [name] of res.headers) {
      if (!TRANSPORT.has(name) && !name.startsWith("access-control-") && !(name in headers)) {
        violations.push(`${where}: header ${name} sent but not declared`);
      }
    }
  }

  /** What is wrong with a declared header's `value` (null: not sent), if anything. */
  function headerProblem(name: string, header: Json, value: string | null): string | undefined {
    if (value === null) return header.required ? `required header ${name} missing` : undefined;
    const typed = header.schema?.type === "integer" ? Number(value) : value;
    const valid = validate(header.schema ?? {});
    return valid(typed) ? undefined : `header ${name}: ${ajv.errorsText(valid.errors)}`;
  }

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      const body =
        request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body,
      });
      const text = await upstream.text();
      await check(request.method, url.pathname, upstream, text);
      const headers = new Headers(upstream.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      return new Response(upstream.status === 204 ? null : text, { status: upstream.status, headers });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, violations, seen, stop: () => server.stop(true) };
}
