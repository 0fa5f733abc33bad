import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { EnvSchema } from "../../src/config/schema";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { postHead, rawRequest, socketGateway } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

let phones = 0;
const nextPhone = () => `+9198${String(20_000_000 + phones++).padStart(8, "0")}`;

describe("the Host header and the request target", () => {
  test("odd Host headers and targets reach the send budget or get a 4xx: never more SMS than the per-IP limit", async () => {
    const limit = EnvSchema.properties.IP_SEND_LIMITS.default; // 5/1m first
    const { port, stop, lines } = gateway({ IP_SEND_LIMITS: limit, PHONE_SEND_LIMITS: "1/1m" });
    try {
      const hosts = [
        "x",
        "ab",
        "otp",
        "a b",
        "",
        "x/y",
        "x?y",
        "ab@c",
        "http://evil",
        "[::1]",
        "a:1",
        "localhost",
        "a\tb",
      ];
      const targets = [
        "/v1/otp/send",
        "/verify/v1/otp/send",
        "/x/verify01/v1/otp/send",
        "/verify0/v1/otp/send",
        "http://h/verify/v1/otp/send",
        "/v1/otp/send?verify",
      ];
      const statuses: number[] = [];
      for (const host of hosts) {
        for (const target of targets) {
          const body = JSON.stringify({ phone: nextPhone() });
          const answer = await rawRequest(port, postHead(target, host, body), body);
          statuses.push(answer.status);
          expect(answer.status, `${JSON.stringify(host)} ${target}`).toBeLessThan(500);
        }
      }
      expect(fake.sms.length).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 200)).toHaveLength(fake.sms.length);
      // The request line names the path as the client wrote it, never the one a router guessed.
      for (const line of lines().filter((l) => l.msg === "request")) {
        expect(targets.join(" ")).toContain(String(line.path));
      }
    } finally {
      await stop();
    }
  });

  test("the two spellings of the issue: refused with a 400, not routed to the send handler", async () => {
    const { port, stop, lines } = gateway();
    try {
      for (const [host, target] of [
        ["x", "/verify/v1/otp/send"],
        ["a b", "/x/verify01/v1/otp/send"],
      ] as const) {
        const body = JSON.stringify({ phone: nextPhone() });
        const answer = await rawRequest(port, postHead(target, host, body), body);
        expect([400, 404]).toContain(answer.status);
        expect(answer.headers.get("content-type")).toContain("application/problem+json");
        expect(answer.headers.get("x-request-id")).toBeTruthy();
      }
      expect(fake.sms).toHaveLength(0);
      expect(lines().filter((l) => l.msg === "request" && l.path === "/v1/otp/send")).toHaveLength(0);
    } finally {
      await stop();
    }
  });

  test("a short but valid Host (a service name) is routed as written", async () => {
    const { port, stop } = gateway();
    try {
      const body = JSON.stringify({ phone: nextPhone() });
      const answer = await rawRequest(port, postHead("/v1/otp/send", "otp", body), body);
      expect(answer.status, answer.body).toBe(200);
      expect(fake.sms).toHaveLength(1);
    } finally {
      await stop();
    }
  });
});
