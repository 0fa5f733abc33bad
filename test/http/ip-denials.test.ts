import { describe, expect, test } from "bun:test";
import { LruIpLimiter } from "../../src/adapters/limits/ip-limiter";
import { createApp } from "../../src/app";
import { ratePolicy } from "../../src/domain/rate-policy";
import { DENIAL_LINES_PER_SECOND } from "../../src/http/request-meta";
import { PromMetrics } from "../../src/observability/metrics";
import { limitsOf } from "../support/given";
import { captureLogger, consoleProvider, TEST_PEER_HEADER, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";

const SEND = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: '{"phone":"+919876543210"}',
};

function gateway(env: Record<string, string>) {
  const capture = captureLogger();
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const deps = testDeps(consoleProvider(capture.logger), capture.logger, { env, metrics });
  const lines = () => capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { deps, lines, page: async () => (await metrics.render()).body };
}

describe("per-IP denials", () => {
  test("over a real socket, each denial carries its own request id, the RateLimit fields and Retry-After", async () => {
    const { deps, lines, page } = gateway({ IP_SEND_LIMITS: "1/1h" });
    const { base, stop } = listenApp(deps);
    try {
      expect((await fetch(`${base}/v1/otp/send`, SEND)).status).toBe(200);
      const ids = new Set<string | null>();
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${base}/v1/otp/send`, SEND);
        const text = await res.text();
        expect(res.status, text).toBe(429);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        expect(res.headers.get("retry-after")).toBe("3600");
        expect(res.headers.get("ratelimit-policy")).toBe('"ip-1h";q=1;w=3600');
        expect(res.headers.get("ratelimit")).toBe('"ip-1h";r=0;t=3600');
        const id = res.headers.get("x-request-id");
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        expect(JSON.parse(text)).toMatchObject({ status: 429, code: "RATE_LIMITED", requestId: id });
        ids.add(id);
      }
      expect(ids.size).toBe(5); // the kept headers never carry an earlier answer's id
      const given = await fetch(`${base}/v1/otp/send`, {
        ...SEND,
        headers: { ...SEND.headers, "x-request-id": "caller-42" },
      });
      expect(given.headers.get("x-request-id")).toBe("caller-42");
      expect((await given.json()) as object).toMatchObject({ requestId: "caller-42" });
      const logged = lines().filter((l) => l.msg === "request" && l.status === 429);
      expect(logged.map((l) => l.requestId)).toEqual([...ids, "caller-42"]);
      expect(logged[0]).toMatchObject({ ip: "127.0.0.1", method: "POST", path: "/v1/otp/send" });
      expect(await page()).toContain('otp_gateway_rate_limited_total{scope="ip"} 6');
      expect(await page()).toContain('otp_gateway_sends_total{outcome="rate_limited"} 6');
    } finally {
      await stop();
    }
  });

  test("under a flood, the first lines a second are written; the rest are counted, and a line says how many", async () => {
    const { deps, lines, page } = gateway({ IP_SEND_LIMITS: "1/1h" });
    const { base, stop } = listenApp(deps);
    try {
      expect((await fetch(`${base}/v1/otp/send`, SEND)).status).toBe(200);
      const flood = 3 * DENIAL_LINES_PER_SECOND;
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: flood }, () => fetch(`${base}/v1/otp/send`, SEND)),
      );
      const seconds = Math.ceil((performance.now() - started) / 1_000);
      for (const res of answers) {
        const text = await res.text();
        expect(res.status, text).toBe(429);
        expect(JSON.parse(text).requestId).toBe(res.headers.get("x-request-id"));
        expect(res.headers.get("ratelimit")).toBe('"ip-1h";r=0;t=3600');
      }
      const written = lines().filter((l) => l.msg === "request" && l.status === 429);
      expect(written.length).toBeGreaterThanOrEqual(DENIAL_LINES_PER_SECOND);
      expect(written.length).toBeLessThanOrEqual(DENIAL_LINES_PER_SECOND * seconds);
      const ids = new Set(answers.map((r) => r.headers.get("x-request-id")));
      for (const line of written) expect(ids.has(line.requestId as string)).toBe(true);
      const notWritten = flood - written.length;
      expect(await page()).toContain(`otp_gateway_request_lines_not_written_total{scope="ip"} ${notWritten}`);
      expect(await page()).toContain(`otp_gateway_rate_limited_total{scope="ip"} ${flood}`);
      expect(await page()).toContain(`otp_gateway_sends_total{outcome="rate_limited"} ${flood}`);
      // The report comes a second after the first line held back (a real timer: the clock is Bun's here).
      const reported = () =>
        lines()
          .filter((l) => l.msg === "request lines not written")
          .reduce((sum, l) => sum + (l.notWritten as number), 0);
      for (let waited = 0; reported() < notWritten && waited < 3_000; waited += 50) await Bun.sleep(50);
      expect(reported()).toBe(notWritten);
      expect(lines().find((l) => l.msg === "request lines not written")).toMatchObject({
        scope: "ip",
        status: 429,
        code: "RATE_LIMITED",
      });
    } finally {
      await stop();
    }
  });

  test("Retry-After and RateLimit count down with the clock, window by window", async () => {
    let clock = 0;
    const { deps } = gateway({});
    const ipLimiter = new LruIpLimiter({
      send: { host: ratePolicy("ip", limitsOf("1/1m,2/1h")) },
      verify: { host: ratePolicy("ip", limitsOf("1/1m")) },
      maxEntries: 100,
      now: () => clock,
    });
    const app = createApp({ ...deps, ipLimiter });
    const send = () =>
      app.handle(
        new Request("http://localhost/v1/otp/send", {
          ...SEND,
          headers: { ...SEND.headers, [TEST_PEER_HEADER]: "192.0.2.7" },
        }),
      );
    expect((await send()).status).toBe(200);
    const seen: [string | null, string | null][] = [];
    for (const at of [0, 500, 1_500, 30_000, 30_000, 61_000]) {
      clock = at;
      const res = await send();
      if (at === 61_000) expect(res.status).toBe(200);
      else {
        expect(res.status).toBe(429);
        seen.push([res.headers.get("retry-after"), res.headers.get("ratelimit")]);
      }
    }
    expect(seen).toEqual([
      ["60", '"ip-1m";r=0;t=60'],
      ["60", '"ip-1m";r=0;t=60'],
      ["59", '"ip-1m";r=0;t=59'],
      ["30", '"ip-1m";r=0;t=30'],
      ["30", '"ip-1m";r=0;t=30'],
    ]);
    clock = 62_000; // both of the hour's sends are spent: the hour decides now
    const res = await send();
    expect(res.headers.get("retry-after")).toBe("3538");
    expect(res.headers.get("ratelimit")).toBe('"ip-1h";r=0;t=3538');
  });
});
