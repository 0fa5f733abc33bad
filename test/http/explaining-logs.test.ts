import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/index";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { socketGateway } from "../support/socket";

/**
 * What the log says of a request, read as an operator reads it: every request over a real socket,
 * every line from the gateway's own logger. A refused request's line names its problem code and
 * the rule that refused it; a verify's line says whether the code was right; the provider's and
 * the admin routes' lines carry the request's id.
 */
const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const TOKEN = "an-admin-token-of-32-characters!";
const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("request lines", () => {
  test("a refusal by a limit names its code and its rule (scope and window)", async () => {
    const gateway = socketGateway(fake.url, { IP_SEND_LIMITS: "2/1m", PHONE_SEND_LIMITS: "1/10m" });
    try {
      expect((await post(gateway.base, "/v1/otp/send", { phone: "+919876500201" })).status).toBe(200);
      expect((await post(gateway.base, "/v1/otp/send", { phone: "+919876500201" })).status).toBe(429);
      expect((await post(gateway.base, "/v1/otp/send", { phone: "+919876500202" })).status).toBe(429);
      const requests = gateway.lines().filter((l) => l.msg === "request");
      expect(requests.map(({ status, code, rule, outcome }) => ({ status, code, rule, outcome }))).toEqual([
        { status: 200, code: undefined, rule: undefined, outcome: "sent" },
        { status: 429, code: "RATE_LIMITED", rule: "limit:phone-10m", outcome: undefined },
        { status: 429, code: "RATE_LIMITED", rule: "limit:ip-1m", outcome: undefined },
      ]);
    } finally {
      await gateway.stop();
    }
  });

  test("a path of 9 000 characters is cut in its line, which says how long it was", async () => {
    const gateway = socketGateway(fake.url);
    try {
      expect((await fetch(`${gateway.base}/abc${"x".repeat(9_000)}`)).status).toBe(404);
      const line = gateway.lines().find((l) => l.msg === "request");
      expect(String(line?.path).length).toBeLessThan(300);
      expect(String(line?.path)).toEndWith("…(9004 characters)");
    } finally {
      await gateway.stop();
    }
  });

  test("a verify's line says whether the code was right", async () => {
    const gateway = socketGateway(fake.url);
    try {
      const sent = (await (await post(gateway.base, "/v1/otp/send", { phone: "+919876500203" })).json()) as {
        verificationId: string;
      };
      const code = fake.sentCode(sent.verificationId);
      const wrong = code === "000000" ? "111111" : "000000";
      await post(gateway.base, "/v1/otp/verify", { verificationId: sent.verificationId, code: wrong });
      await post(gateway.base, "/v1/otp/verify", { verificationId: sent.verificationId, code });
      const verifies = gateway.lines().filter((l) => l.msg === "request" && l.path === "/v1/otp/verify");
      expect(verifies.map((l) => l.outcome)).toEqual(["not_verified", "verified"]);
    } finally {
      await gateway.stop();
    }
  });
});

describe("the answer-time histogram", () => {
  test("made-up paths cannot add route labels: each is timed as `other`", async () => {
    const gateway = socketGateway(fake.url, { IP_GET_LIMITS: "off" });
    try {
      for (let i = 0; i < 40; i++)
        await fetch(`${gateway.base}/made-up-${i}/%2e%2e/${"9".repeat(i)}`, { redirect: "manual" });
      await fetch(`${gateway.base}/healthz`);
      const routes = new Set(
        [
          ...(await gateway.page()).matchAll(
            /otp_gateway_http_request_duration_seconds_count\{route="([^"]*)"/g,
          ),
        ].map((m) => m[1]),
      );
      // `%2e%2e` is `..` to a URL parser: some of them are `/` (a real route), the rest `other`.
      expect([...routes].sort(), JSON.stringify([...routes])).toEqual(["/", "/healthz", "other"]);
    } finally {
      await gateway.stop();
    }
  });
});

describe("lines about a request, written away from its route", () => {
  test("the provider's retry and failure lines carry the request's id", async () => {
    const gateway = socketGateway(fake.url);
    try {
      fake.fail("/otp/send", { kind: "status", status: 503, body: "<html>down</html>" }, 3);
      const answer = await post(
        gateway.base,
        "/v1/otp/send",
        { phone: "+919876500204" },
        {
          "x-request-id": "trace-upstream-1",
        },
      );
      expect(answer.status).toBe(502);
      // Its warnings and errors (the debug line of each answer is written without it).
      const upstream = gateway
        .lines()
        .filter((l) => String(l.msg).startsWith("upstream") && l.level !== "debug");
      expect(upstream.length).toBeGreaterThanOrEqual(2);
      for (const line of upstream) expect(line.requestId, String(line.msg)).toBe("trace-upstream-1");
    } finally {
      await gateway.stop();
    }
  });

  test("an admin route's line carries the request's id", async () => {
    const gateway = socketGateway(fake.url, { ADMIN_TOKEN: TOKEN });
    try {
      const res = await fetch(`${gateway.base}/admin/phones/+919876500205/windows`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${TOKEN}`, "x-request-id": "trace-admin-1" },
      });
      expect(res.status).toBe(200);
      const cleared = gateway.lines().find((l) => l.msg === "admin: phone windows cleared");
      expect(cleared).toMatchObject({ requestId: "trace-admin-1", phone: "+91******0205" });
    } finally {
      await gateway.stop();
    }
  });
});

describe("settings a person can fix", () => {
  test("IP_SEND_LIMITS=off is accepted, with a warning, and then no per-address limit refuses", async () => {
    const config = loadConfig({ IP_SEND_LIMITS: "off", IP_VERIFY_LIMITS: "off" });
    expect(config.IP_SEND_LIMITS).toBeUndefined();
    expect(config.warnings.filter((w) => w.startsWith("IP_SEND_LIMITS=off"))).toHaveLength(1);
    expect(config.warnings.filter((w) => w.startsWith("IP_VERIFY_LIMITS=off"))).toHaveLength(1);
    const gateway = socketGateway(fake.url, { IP_SEND_LIMITS: "off", PHONE_SEND_LIMITS: "5/1m" });
    try {
      const statuses = [];
      for (let i = 0; i < 12; i++) {
        statuses.push((await post(gateway.base, "/v1/otp/send", { phone: `+9198765003${10 + i}` })).status);
      }
      expect(statuses).toEqual(Array(12).fill(200));
    } finally {
      await gateway.stop();
    }
  });

  test("a list-shaped setting's mistake is answered in words with an example, not a pattern", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return "";
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    };
    const cases: [Record<string, string>, string][] = [
      [{ SEND_BUDGETS: "*=1000/1x" }, "e.g. *=1000/1h,IN=500/1h"],
      [{ IP_SEND_LIMITS: "5 per minute" }, "e.g. 5/1m,50/1h"],
      [{ PHONE_SEND_LIMITS: "5/1mm" }, "e.g. 5/1m,50/1h"],
      [{ SMS_PRICES: "IN:0.25" }, "e.g. IN=0.25,*=0.30"],
      [{ ALLOWED_COUNTRIES: "India" }, "e.g. IN,BD"],
      [{ REDIS_URL: "localhost:6379" }, "e.g. rediss://user:password@host:6379/0"],
      // A path that is no database number would quietly be database 0.
      [{ REDIS_URL: "redis://127.0.0.1:6379/abc" }, "its path a database number"],
      [{ PUMPING_SAFE_LIST: "98765" }, "e.g. +9198765,+919876543210"],
      // A misspelt production would quietly run as development (console provider, public metrics).
      [{ NODE_ENV: "prod" }, "development or production"],
    ];
    for (const [env, example] of cases) {
      const message = problems(env);
      expect(message, JSON.stringify(env)).toContain(example);
      expect(message, JSON.stringify(env)).not.toContain("^");
    }
  });
});
