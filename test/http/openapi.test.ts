import { describe, expect, test } from "bun:test";
import { ERROR_CODES } from "../../src/errors";
import { CODE_FACTS } from "../../src/http/error-codes";
import { captureLogger, startMessaging, testApp } from "../support/harness";
import { type Json, resolveRef } from "../support/openapi-doc";

const { logger } = captureLogger();
// A StartMessaging provider with a recognisable key: the document must never show it.
const client = testApp(
  startMessaging("http://127.0.0.1:9", logger, { apiKey: "sm_live_SECRETSECRET123" }),
  logger,
  {
    env: { ADMIN_TOKEN: "an-admin-token-of-length" },
  },
);

let doc: Json;
let text: string;
const resolve = (node: Json) => resolveRef(doc, node);
const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method, op })),
  );

describe("the OpenAPI document at /swagger/json", () => {
  test("is OpenAPI 3.1 and documents exactly the routes that are mounted, each with an operationId", async () => {
    const res = await client.get("/swagger/json");
    expect(res.status).toBe(200);
    text = await res.text();
    doc = JSON.parse(text);
    expect(doc.openapi).toBe("3.1.0");
    // Every route but the docs' own (and `/`, which leads to them), /metrics and the problem pages is an
    // operation, and no operation lacks its route.
    const hidden = /^\/(swagger|metrics|problems|$)/;
    const routes = client.app.routes
      .filter((r) => !hidden.test(r.path) && r.method !== "OPTIONS")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    expect(
      operations()
        .map(({ method, path }) => `${method} ${path}`)
        .sort(),
    ).toEqual(routes.sort());
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths["/v1/otp/send"].post.operationId).toBe("sendOtp");
    expect(doc.paths["/v1/otp/verify"].post.operationId).toBe("verifyOtp");
    for (const { op } of operations()) expect(op.summary && op.description && op.tags?.length).toBeTruthy();
  });

  test("names its schemas once and refers to them; Problem's status is an integer", () => {
    const schemas = doc.components.schemas;
    for (const name of [
      "Problem",
      "SendRequest",
      "SendResponse",
      "VerifyRequest",
      "VerifyResponse",
      "Readiness",
    ])
      expect(schemas[name], name).toBeDefined();
    expect(schemas.Problem.properties.status).toMatchObject({ type: "integer" });
    expect(schemas.Problem.properties.status.anyOf).toBeUndefined();
    const send = doc.paths["/v1/otp/send"].post;
    expect(send.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/SendRequest",
    });
    expect(send.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/SendResponse",
    });
    for (const name of ["SendRequest", "VerifyRequest"]) {
      for (const property of Object.values(schemas[name].properties as Record<string, Json>)) {
        expect(property.examples?.length, `${name} property without an example`).toBeGreaterThan(0);
      }
    }
  });

  test("every error status is problem+json with examples of the codes that status really carries", () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        expect(response.description, `${method} ${path} ${status}`).not.toMatch(/^Response for status/);
        expect(response.headers["X-Request-Id"]).toBeDefined();
        if (Number(status) < 400 || path === "/readyz") continue;
        const media = response.content["application/problem+json"];
        expect(Object.keys(response.content)).toEqual(["application/problem+json"]);
        const codes: string[] = media.schema.allOf[1].properties.code.enum;
        expect(Object.keys(media.examples).sort()).toEqual([...codes].sort());
        for (const code of codes) {
          expect(
            CODE_FACTS[code as keyof typeof CODE_FACTS].status as number,
            `${path} ${status} ${code}`,
          ).toBe(Number(status));
          expect(media.examples[code].value).toMatchObject({
            code,
            status: Number(status),
            type: expect.stringMatching(/^\/problems\//),
          });
        }
      }
    }
    const limited = doc.paths["/v1/otp/send"].post.responses["429"];
    expect(Object.keys(limited.content["application/problem+json"].examples)).toEqual(["RATE_LIMITED"]);
  });

  test("declares every header where it is sent", () => {
    const send = doc.paths["/v1/otp/send"].post;
    expect(Object.keys(send.responses["429"].headers).sort()).toEqual([
      "RateLimit",
      "RateLimit-Policy",
      "Retry-After",
      "X-Request-Id",
    ]);
    expect(send.responses["200"].headers).toHaveProperty("Idempotent-Replayed");
    expect(send.responses["503"].headers).toHaveProperty("Retry-After"); // SEND_BUDGET_EXHAUSTED
    expect(send.responses["401"].headers).toHaveProperty("WWW-Authenticate");
    const key = send.parameters.find((p: Json) => p.name === "Idempotency-Key");
    expect(key).toMatchObject({ in: "header", required: false });
    expect(key.description.length).toBeGreaterThan(40);
    // No example: Swagger UI pre-fills a parameter's example, and one fixed key would turn every
    // second Execute into a conflict or a replay (test/browser/swagger.test.ts).
    expect(key.example).toBeUndefined();
    for (const name of Object.keys(doc.components.headers)) {
      expect(text).toContain(`"#/components/headers/${name}"`);
    }
    // /readyz's 503 is its readiness JSON, not a problem.
    expect(doc.paths["/readyz"].get.responses["503"].content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/Readiness" } },
    });
  });

  test("caller keys and the admin token are security schemes; probes need none", () => {
    expect(doc.components.securitySchemes.callerKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/v1/otp/send"].post.security).toEqual([{ callerKey: [] }, {}]);
    expect(doc.paths["/admin/guard"].get.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths["/healthz"].get.security).toEqual([]);
  });

  test("the verify examples are true to the behaviour, and `reason` says when it appears", () => {
    const verify = doc.paths["/v1/otp/verify"].post.responses["200"];
    const examples = verify.content["application/json"].examples;
    expect(examples.verified.value).toEqual({ verified: true });
    expect(examples.notVerified.value).toEqual({ verified: false });
    expect(resolve(verify.content["application/json"].schema).properties.reason.description).toContain(
      "VERIFY_EXPOSE_REASON",
    );
  });

  test("never contains the API key", () => {
    expect(text).not.toContain("sm_live_");
    expect(text).not.toContain("SECRETSECRET");
  });

  test("the Swagger UI page loads its assets from the gateway, not a CDN", async () => {
    const page = await (await client.get("/swagger")).text();
    expect(page).toContain('src="/swagger/assets/swagger-ui-bundle.js"');
    expect(page).not.toMatch(/https?:\/\//);
    const js = await client.get("/swagger/assets/swagger-ui-bundle.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(100_000);
    const css = await client.get("/swagger/assets/swagger-ui.css");
    expect(css.headers.get("content-type")).toContain("text/css");
  });
});

describe("problem pages", () => {
  test("every problem's type opens a page saying what happened and what to do", async () => {
    const refused = await client.post("/v1/otp/send", { phone: "12" });
    const { type } = (await refused.json()) as { type: string };
    expect(type).toBe("/problems/invalid-request");
    for (const code of ERROR_CODES) {
      const res = await client.get(`/problems/${code.toLowerCase().replaceAll("_", "-")}`);
      expect(res.status, code).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      const page = await res.text();
      expect(page).toContain(code);
      expect(page).toContain("What to do");
    }
    const index = await (await client.get("/problems")).text();
    for (const code of ERROR_CODES) expect(index).toContain(`<code>${code}</code>`);
    expect((await client.get("/problems/no-such-thing")).status).toBe(404);
  });
});
