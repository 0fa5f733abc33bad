import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import createClient from "openapi-fetch";
import { CLIENT_TYPES, clientTypes } from "../../scripts/client-types";
import { must } from "../support/given";
import { captureLogger, codeFromLog, consoleProvider, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";
import type { components, operations, paths } from "./otp-gateway";

/**
 * The contract as a client author meets it: types generated from the served
 * document by openapi-typescript (test/contract/otp-gateway.ts, type-checked
 * with the project's strict settings), and openapi-fetch driving the whole flow
 * over a real socket with nothing but those types.
 */
const { logger, lines } = captureLogger();
const CALLER_KEY = "ck_contract_test_key_0001";
let server: ReturnType<typeof listenApp>;
let keyed: ReturnType<typeof listenApp>;
beforeAll(() => {
  server = listenApp(testDeps(consoleProvider(logger), logger, { env: { PHONE_SEND_LIMITS: "1/1m" } }));
  keyed = listenApp(testDeps(consoleProvider(logger), logger, { env: { GATEWAY_API_KEYS: CALLER_KEY } }));
});
afterAll(async () => {
  await server.stop();
  await keyed.stop();
});

type Problem = components["schemas"]["Problem"];
type TooMany = operations["sendOtp"]["responses"][429]["content"]["application/problem+json"];

describe("a client generated from the served document", () => {
  test("the committed types are what openapi-typescript makes of /swagger/json", async () => {
    const served = await (await fetch(`${server.base}/swagger/json`)).text();
    // The served document lacks the admin routes here (no ADMIN_TOKEN); the committed types are of the whole contract.
    const whole = Bun.spawnSync(["bun", "src/main.ts", "openapi"]).stdout.toString();
    expect(JSON.parse(served).paths["/v1/otp/send"]).toEqual(JSON.parse(whole).paths["/v1/otp/send"]);
    expect(await clientTypes(whole), "run `bun run client:types` after changing the document").toBe(
      await Bun.file(CLIENT_TYPES).text(),
    );
  }, 30_000);

  test("sends, reads the console provider's code, verifies, and handles a 429 and a 400 with generated types only", async () => {
    const client = createClient<paths>({ baseUrl: server.base });
    const phone = "+919876512345";
    const sent = await client.POST("/v1/otp/send", { body: { phone } });
    expect(sent.response.status).toBe(200);
    const sentData = must(sent.data, "the send's answer");
    const requestId: string = sentData.verificationId;
    const resendAfter: number = sentData.resendAfter;
    expect(resendAfter).toBeGreaterThan(0);

    const verified = await client.POST("/v1/otp/verify", {
      body: { verificationId: requestId, code: codeFromLog(lines, requestId) },
    });
    const verdict: boolean = must(verified.data, "the verify's answer").verified;
    expect(verdict).toBe(true);

    const again = await client.POST("/v1/otp/send", { body: { phone } });
    expect(again.response.status).toBe(429);
    // The document's 429 of sendOtp, typed narrowly: its code can only be RATE_LIMITED.
    const limited = again.error as TooMany;
    const code: "RATE_LIMITED" = limited.code;
    expect(code).toBe("RATE_LIMITED");
    expect(limited.status).toBe(429);
    expect(Number(again.response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(again.response.headers.get("ratelimit-policy")).toContain("q=1");

    const invalid = await client.POST("/v1/otp/send", { body: { phone: "not a phone" } });
    expect(invalid.response.status).toBe(400);
    const problem: Problem | undefined = invalid.error;
    expect(problem?.code).toBe("INVALID_REQUEST");
    expect(problem?.errors?.[0]?.pointer).toBe("/phone");
  });

  test("passes a caller key per request", async () => {
    const client = createClient<paths>({ baseUrl: keyed.base });
    const without = await client.POST("/v1/otp/send", { body: { phone: "+919876512346" } });
    expect(without.response.status).toBe(401);
    expect(without.error?.code).toBe("UNAUTHORIZED");
    const withKey = await client.POST("/v1/otp/send", {
      body: { phone: "+919876512346" },
      headers: { Authorization: `Bearer ${CALLER_KEY}` },
    });
    expect(withKey.response.status).toBe(200);
    expect(withKey.data?.verificationId).toBeTruthy();
  });
});
