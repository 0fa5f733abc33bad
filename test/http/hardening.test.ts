import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { EnvSchema } from "../../src/config/schema";
import { nestingDepth } from "../../src/http/json-body";
import { PromMetrics } from "../../src/observability/metrics";
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
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, {
    env: { ALLOWED_COUNTRIES: "IN", ...env },
    metrics,
  });
  const server = listenApp(deps);
  const lines = () => capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const page = async () => (await metrics.render()).body;
  return { ...server, lines, capture, page };
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

describe("the HTTP edges, over a real socket", () => {
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
      const head = (length: string) => `POST /v1/otp/send HTTP/1.1\r\nHost: otp\r\nContent-Type: application/json${length}`;
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
      expect(logged.map((l) => l.requestId).sort()).toEqual(answers.map((a) => a.headers.get("x-request-id")).sort());
      expect(await page()).toContain('otp_gateway_sends_total{outcome="payload_too_large"} 4');
      expect(fake.sms).toHaveLength(0);
    } finally {
      await stop();
    }
  });

  test("GET on a POST route is 405 with Allow and no send outcome; OPTIONS answers Allow", async () => {
    const { port, stop, page } = gateway();
    try {
      const wrong = await rawRequest(port, "GET /v1/otp/send HTTP/1.1\r\nHost: otp");
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get("allow")).toBe("POST, OPTIONS");
      expect(JSON.parse(wrong.body).code).toBe("METHOD_NOT_ALLOWED");
      expect(await page()).toContain(`otp_gateway_sends_total{outcome="sent"} 0\n\n`); // no other outcome counted
      const options = await rawRequest(port, "OPTIONS /v1/otp/verify HTTP/1.1\r\nHost: otp");
      expect(options.status).toBe(204);
      expect(options.headers.get("allow")).toBe("POST, OPTIONS");
      expect((await rawRequest(port, "OPTIONS /healthz HTTP/1.1\r\nHost: otp")).headers.get("allow")).toBe("GET, HEAD, OPTIONS");
      expect((await rawRequest(port, "OPTIONS /nope HTTP/1.1\r\nHost: otp")).status).toBe(404);
    } finally {
      await stop();
    }
  });
});

describe("CORS", () => {
  const preflight = (path: string, origin: string) =>
    `OPTIONS ${path} HTTP/1.1\r\nHost: otp\r\nOrigin: ${origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type`;

  test("a listed origin only, matched exactly: Origin: constructor and look-alikes get nothing", async () => {
    const { port, stop } = gateway({ CORS_ORIGINS: "https://app.example" });
    try {
      const ok = await rawRequest(port, preflight("/v1/otp/send", "https://app.example"));
      expect(ok.status).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
      expect(ok.headers.get("access-control-allow-credentials")).toBeUndefined();
      for (const origin of [
        "constructor",
        "__proto__",
        "toString",
        "app.example",
        "http://app.example",
        "https://app.example.evil",
      ]) {
        const answer = await rawRequest(port, preflight("/v1/otp/send", origin));
        expect(answer.headers.get("access-control-allow-origin"), origin).toBeUndefined();
      }
    } finally {
      await stop();
    }
  });

  test("with *, admin routes, /metrics and the docs still get no CORS headers; a replay is readable", async () => {
    const { port, stop } = gateway({ CORS_ORIGINS: "*", ADMIN_TOKEN: "an-admin-token-of-length" });
    try {
      for (const path of ["/metrics", "/swagger/json", "/admin/guard"]) {
        const get = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: otp\r\nOrigin: https://evil.example`);
        expect(get.headers.get("access-control-allow-origin"), path).toBeUndefined();
        const pre = await rawRequest(port, preflight(path, "https://evil.example"));
        expect(pre.headers.get("access-control-allow-origin"), path).toBeUndefined();
      }
      const body = JSON.stringify({ phone: nextPhone() });
      const send = (await rawRequest(
        port,
        `${post("/v1/otp/send", "otp", body)}\r\nOrigin: https://any.example\r\nIdempotency-Key: k-${phones}`,
        body,
      )) as Awaited<ReturnType<typeof rawRequest>>;
      expect(send.status).toBe(200);
      expect(send.headers.get("access-control-allow-origin")).toBe("*");
      expect(send.headers.get("access-control-expose-headers")).toContain("idempotent-replayed");
      expect(send.headers.get("access-control-allow-credentials")).toBeUndefined();
    } finally {
      await stop();
    }
  });
});

describe("found by an attack review of this round", () => {
  test("deeply nested JSON is a 400 before anything recurses into it, in every field", async () => {
    const { port, stop, lines } = gateway();
    try {
      const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
      for (const body of [
        `{"phone":${deep(8000)}}`,
        `{"requestId":${deep(8000)},"code":"123456"}`,
        `{"requestId":"otp_1","code":${deep(8000)}}`,
        `{"a":${'{"a":'.repeat(2000)}1${"}".repeat(2000)}}`,
      ]) {
        const target = body.includes("requestId") ? "/v1/otp/verify" : "/v1/otp/send";
        const answer = await rawRequest(port, post(target, "otp", body), body);
        expect(answer.status, body.slice(0, 30)).toBe(400);
        expect(JSON.parse(answer.body).code).toBe("INVALID_REQUEST");
      }
      expect(lines().filter((l) => l.level === "error")).toEqual([]);
      // Brackets inside strings are text, not nesting.
      const quoted = JSON.stringify({ phone: "[[[[[[[[[[[[" });
      expect((await rawRequest(port, post("/v1/otp/send", "otp", quoted), quoted)).status).toBe(400); // an invalid phone
      expect(nestingDepth(quoted)).toBe(1);
      expect(nestingDepth('{"a":"\\"[[[","b":[{}]}')).toBe(3);
    } finally {
      await stop();
    }
  });

  test("a request whose connection is reset before it is read gets no address: it does not share an 'unknown' budget", async () => {
    const { port, stop, lines } = gateway({ IP_SEND_LIMITS: EnvSchema.properties.IP_SEND_LIMITS.default });
    try {
      const send = (phone: string) => {
        const body = JSON.stringify({ phone });
        return `${post("/v1/otp/send", "otp", body)}\r\nConnection: close\r\n\r\n${body}`;
      };
      for (let i = 0; i < 5; i++) {
        const body = JSON.stringify({ phone: nextPhone() });
        expect((await rawRequest(port, post("/v1/otp/send", "otp", body), body)).status).toBe(200);
      }
      for (let i = 0; i < 8; i++) {
        const socket = net.connect({ port, host: "127.0.0.1" });
        socket.on("error", () => {});
        await new Promise((resolve) => socket.on("connect", resolve));
        socket.write(send(nextPhone()), () => socket.resetAndDestroy());
        await Bun.sleep(30);
      }
      await Bun.sleep(200);
      expect(fake.sms.length).toBeLessThanOrEqual(5);
      expect(lines().filter((l) => l.msg === "request" && l.ip === "unknown" && l.status === 200)).toEqual([]);
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
