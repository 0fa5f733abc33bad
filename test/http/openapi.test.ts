import { describe, expect, test } from "bun:test";
import { captureLogger, startMessaging, testApp } from "../support/harness";

const { logger } = captureLogger();
// A StartMessaging provider with a recognisable key: the document must never show it.
const client = testApp(startMessaging("http://127.0.0.1:9", logger, { apiKey: "sm_live_SECRETSECRET123" }), logger);

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        summary?: string;
        requestBody?: { content: Record<string, { schema: { properties: Record<string, { examples?: unknown[] }> } }> };
        responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
      }
    >
  >;
};

describe("the OpenAPI document at /swagger/json", () => {
  let doc: Doc;
  let text: string;

  test("is OpenAPI 3 and lists every route", async () => {
    const res = await client.get("/swagger/json");
    expect(res.status).toBe(200);
    text = await res.text();
    doc = JSON.parse(text);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(["/healthz", "/readyz", "/v1/otp/send", "/v1/otp/verify"]);
    expect(doc.paths["/v1/otp/send"]!.post!.summary).toBeTruthy();
  });

  test("documents request bodies as JSON with examples", () => {
    for (const path of ["/v1/otp/send", "/v1/otp/verify"]) {
      const body = doc.paths[path]!.post!.requestBody!;
      expect(Object.keys(body.content)).toEqual(["application/json"]);
      for (const property of Object.values(body.content["application/json"]!.schema.properties)) {
        expect(property.examples?.length, `${path} property without an example`).toBeGreaterThan(0);
      }
    }
  });

  test("documents every error status as problem+json, with Retry-After on 429", () => {
    for (const path of ["/v1/otp/send", "/v1/otp/verify"]) {
      const responses = doc.paths[path]!.post!.responses;
      for (const status of ["200", "400", "413", "415", "429", "500", "502", "503", "504"]) {
        expect(responses[status], `${path} ${status}`).toBeDefined();
        expect(responses[status]!.headers).toHaveProperty("X-Request-Id");
        if (status !== "200") expect(Object.keys(responses[status]!.content!)).toEqual(["application/problem+json"]);
      }
      expect(responses["429"]!.headers).toHaveProperty("Retry-After");
    }
    expect(doc.paths["/v1/otp/send"]!.post!.responses["409"]).toBeDefined();
    expect(doc.paths["/v1/otp/send"]!.post!.responses["403"]).toBeDefined();
    expect(doc.paths["/v1/otp/send"]!.post!.responses["401"]).toBeDefined();
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
