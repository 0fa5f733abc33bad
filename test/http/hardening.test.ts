import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { EnvSchema } from "../../src/config-schema";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { listenApp, rawRequest } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

let phones = 0;
const nextPhone = () => `+9198${String(20_000_000 + phones++).padStart(8, "0")}`;

function gateway(env: Record<string, string> = {}) {
  const capture = captureLogger();
  const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, { env: { ALLOWED_COUNTRIES: "IN", ...env } });
  const server = listenApp(deps);
  const lines = () => capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ...server, lines, capture };
}

const post = (target: string, host: string, body: string, extra = "") =>
  `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}${extra}`;

describe("the Host header and the request target", () => {
  test("odd Host headers and targets reach the send budget or get a 4xx: never more SMS than the per-IP limit", async () => {
    const limit = EnvSchema.properties.IP_SEND_LIMITS.default; // 5/1m first
    const { port, stop, lines } = gateway({ IP_SEND_LIMITS: limit, PHONE_SEND_LIMITS: "1/1m" });
    try {
      const hosts = ["x", "ab", "otp", "a b", "", "x/y", "x?y", "ab@c", "http://evil", "[::1]", "a:1", "localhost", "a\tb"];
      const targets = [
        "/v1/otp/send",
        "/verify/v1/otp/send",
        "/x/verify01/v1/otp/send",
        "/verify0/v1/otp/send",
        "http://h/verify/v1/otp/send",
        "/v1/otp/send?verify",
      ];
      const statuses: number[] = [];
      for (const host of hosts)
        for (const target of targets) {
          const body = JSON.stringify({ phone: nextPhone() });
          const answer = await rawRequest(port, post(target, host, body), body);
          statuses.push(answer.status);
          expect(answer.status, `${JSON.stringify(host)} ${target}`).toBeLessThan(500);
        }
      expect(fake.sms.length).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 200)).toHaveLength(fake.sms.length);
      // The request line names the path as the client wrote it, never the one a router guessed.
      for (const line of lines().filter((l) => l.msg === "request")) expect(targets.join(" ")).toContain(String(line.path));
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
        const answer = await rawRequest(port, post(target, host, body), body);
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
      const answer = await rawRequest(port, post("/v1/otp/send", "otp", body), body);
      expect(answer.status, answer.body).toBe(200);
      expect(fake.sms).toHaveLength(1);
    } finally {
      await stop();
    }
  });
});

describe("the phone's verify window", () => {
  test("junk verifies of a spent or exhausted id do not lock the phone's owner out", async () => {
    const { base, stop } = gateway({ PHONE_VERIFY_LIMITS: EnvSchema.properties.PHONE_VERIFY_LIMITS.default });
    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    try {
      const phone = nextPhone();
      // The attacker sends one code to the victim and burns its id with junk, many times over.
      const burnt = (await call("/v1/otp/send", { phone })).body.requestId as string;
      const answers = [];
      for (let i = 0; i < 25; i++) answers.push(await call("/v1/otp/verify", { requestId: burnt, code: "000000" }));
      expect(answers.every((a) => a.status === 200 && a.body.verified === false)).toBe(true);
      // Only the attempts the upstream saw (3) were charged: the owner's fresh code still verifies.
      const fresh = (await call("/v1/otp/send", { phone })).body.requestId as string;
      const right = await call("/v1/otp/verify", { requestId: fresh, code: fake.codeFor(fresh)! });
      expect(right).toEqual({ status: 200, body: { verified: true } });
      // A spent id now answers as an unknown one does, however often it is tried.
      const spent = [];
      for (let i = 0; i < 15; i++) spent.push(await call("/v1/otp/verify", { requestId: fresh, code: "000000" }));
      const unknown = [];
      for (let i = 0; i < 15; i++) unknown.push(await call("/v1/otp/verify", { requestId: `${fresh}x`, code: "000000" }));
      expect(spent).toEqual(unknown);
    } finally {
      await stop();
    }
  });
});

describe("/readyz under a flood", () => {
  test("300 concurrent checks against a hanging upstream make one upstream probe; a send is not held up", async () => {
    const { base, port, stop } = gateway();
    try {
      fake.fail("/", { kind: "delay", ms: 1_500 });
      // Raw sockets, not fetch: this process's own fetches (the gateway's among them) share one pool of 256.
      const checks = Array.from({ length: 300 }, () =>
        rawRequest(port, "GET /readyz HTTP/1.1\r\nHost: otp").then((r) => r.status),
      );
      await Bun.sleep(50);
      const started = performance.now();
      const sent = await fetch(`${base}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone: nextPhone() }),
      });
      expect(sent.status).toBe(200);
      const sendMs = performance.now() - started;
      expect(new Set(await Promise.all(checks))).toEqual(new Set([200])); // ready: the upstream is informational
      expect(fake.requests.filter((r) => r.method === "HEAD")).toHaveLength(1);
      expect(sendMs).toBeLessThan(1_000);
    } finally {
      await stop();
    }
  });
});
