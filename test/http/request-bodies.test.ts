import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { nestingDepth } from "../../src/http/json-body";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { postHead, rawRequest, socketGateway } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

describe("request bodies, over a real socket", () => {
  test("an empty JSON body is 400, as documented (not 415)", async () => {
    const { port, stop } = gateway();
    try {
      for (const length of ["\r\nContent-Length: 0", ""]) {
        const answer = await rawRequest(
          port,
          `POST /v1/otp/send HTTP/1.1\r\nHost: otp\r\nContent-Type: application/json${length}`,
        );
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.body).code).toBe("INVALID_REQUEST");
      }
    } finally {
      await stop();
    }
  });

  test("every oversize body, declared or chunked, small or huge, is a 413 problem, logged once and counted", async () => {
    const { port, stop, lines, page } = gateway();
    try {
      const head = (length: string) =>
        `POST /v1/otp/send HTTP/1.1\r\nHost: otp\r\nContent-Type: application/json${length}`;
      const padded = (bytes: number) => JSON.stringify({ phone: "+919876543210", pad: "x".repeat(bytes) });
      const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      const answers = [
        await rawRequest(port, head("\r\nContent-Length: 20000"), padded(20_000).slice(0, 20_000)),
        await rawRequest(port, head("\r\nContent-Length: 100000"), padded(100_000).slice(0, 100_000)),
        await rawRequest(port, head("\r\nContent-Length: 10000000000"), "{"),
        await rawRequest(port, head("\r\nTransfer-Encoding: chunked"), chunked(padded(100_000))),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(413);
        expect(answer.headers.get("content-type")).toContain("application/problem+json");
        expect(answer.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
        expect(JSON.parse(answer.body).code).toBe("PAYLOAD_TOO_LARGE");
      }
      const logged = lines().filter((l) => l.msg === "request" && l.status === 413);
      expect(logged.map((l) => l.requestId).sort()).toEqual(
        answers.map((a) => a.headers.get("x-request-id")).sort(),
      );
      expect(await page()).toContain('otp_gateway_sends_total{outcome="payload_too_large"} 4');
      expect(fake.sms).toHaveLength(0);
    } finally {
      await stop();
    }
  });

  test("deeply nested JSON is a 400 before anything recurses into it, in every field", async () => {
    const { port, stop, lines } = gateway();
    try {
      const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
      for (const body of [
        `{"phone":${deep(8000)}}`,
        `{"verificationId":${deep(8000)},"code":"123456"}`,
        `{"verificationId":"otp_1","code":${deep(8000)}}`,
        `{"a":${'{"a":'.repeat(2000)}1${"}".repeat(2000)}}`,
      ]) {
        const target = body.includes("verificationId") ? "/v1/otp/verify" : "/v1/otp/send";
        const answer = await rawRequest(port, postHead(target, "otp", body), body);
        expect(answer.status, body.slice(0, 30)).toBe(400);
        expect(JSON.parse(answer.body).code).toBe("INVALID_REQUEST");
      }
      expect(lines().filter((l) => l.level === "error")).toEqual([]);
      // Brackets inside strings are text, not nesting.
      const quoted = JSON.stringify({ phone: "[[[[[[[[[[[[" });
      expect((await rawRequest(port, postHead("/v1/otp/send", "otp", quoted), quoted)).status).toBe(400); // an invalid phone
      expect(nestingDepth(quoted)).toBe(1);
      expect(nestingDepth('{"a":"\\"[[[","b":[{}]}')).toBe(3);
    } finally {
      await stop();
    }
  });

  test("a Content-Length past 2^53 is still the gateway's own 413", async () => {
    const { port, stop } = gateway();
    try {
      const answer = await rawRequest(
        port,
        "POST /v1/otp/send HTTP/1.1\r\nHost: otp\r\nContent-Type: application/json\r\nContent-Length: 9007199254740993",
      );
      expect(answer.status).toBe(413);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
    } finally {
      await stop();
    }
  });
});
