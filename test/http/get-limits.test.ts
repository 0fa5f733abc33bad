import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HeldAnswers } from "../../src/http/held-answers";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

/** A gateway on a real socket; TRUST_PROXY=1, so X-Forwarded-For names the client. */
function gateway(env: Record<string, string> = {}) {
  const capture = captureLogger();
  const metrics = new PromMetrics({ version: "test" });
  const renders = { count: 0 };
  const render = metrics.render.bind(metrics);
  // Counted, not replaced: every scrape still renders the real page.
  metrics.render = () => {
    renders.count += 1;
    return render();
  };
  const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, {
    env: { TRUST_PROXY: "1", ...env },
    metrics,
  });
  const server = listenApp(deps);
  const get = (path: string, client = "198.51.100.7", headers: Record<string, string> = {}) =>
    fetch(`${server.base}${path}`, { headers: { "x-forwarded-for": client, ...headers } });
  return { ...server, get, renders, metrics, capture };
}

describe("GET /metrics under a loop of scrapes", () => {
  test("renders the page at most once a second, however many ask, and answers each with it", async () => {
    const gw = gateway({ IP_GET_LIMITS: "off" });
    try {
      const pages = await Promise.all(
        Array.from({ length: 40 }, () => gw.get("/metrics").then((r) => r.text())),
      );
      for (let i = 0; i < 40; i++) pages.push(await (await gw.get("/metrics")).text());
      expect(gw.renders.count).toBe(1);
      expect(new Set(pages).size).toBe(1);
      expect(pages[0]).toContain("otp_gateway_sends_total");
      await Bun.sleep(1_050);
      await gw.get("/metrics");
      expect(gw.renders.count).toBe(2);
    } finally {
      await gw.stop();
    }
  });

  test("leaves out the heap-space family that costs milliseconds under Bun; the heap totals stay", async () => {
    const gw = gateway();
    try {
      const page = await (await gw.get("/metrics")).text();
      expect(page).not.toContain("nodejs_heap_space_size");
      expect(page).toContain("nodejs_heap_size_used_bytes");
      expect(page).toContain("process_resident_memory_bytes");
    } finally {
      await gw.stop();
    }
  });
});

describe("the per-IP limit of GETs (IP_GET_LIMITS)", () => {
  test("past it, one address gets 429s held back a second; other addresses and the probes are served", async () => {
    const gw = gateway({ IP_GET_LIMITS: "5/1m" });
    try {
      for (let i = 0; i < 5; i++) expect((await gw.get("/swagger/json")).status).toBe(200);
      const started = performance.now();
      const refused = await gw.get("/problems/rate-limited");
      const heldMs = performance.now() - started;
      expect(refused.status, await refused.clone().text()).toBe(429);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(refused.headers.get("ratelimit-policy")).toBe('"get-1m";q=5;w=60');
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(heldMs).toBeGreaterThanOrEqual(900);
      // /metrics, the admin routes' 401 and an unknown path count in the same limit.
      expect((await gw.get("/metrics")).status).toBe(429);
      expect((await gw.get("/no-such-page")).status).toBe(429);
      // Never the probes: a refused health check would take the gateway out of its load balancer.
      for (let i = 0; i < 20; i++) {
        expect((await gw.get("/healthz")).status).toBe(200);
        expect((await gw.get("/readyz")).status).toBe(200);
      }
      // Another address has its own bucket; a send from the limited one is charged apart.
      expect((await gw.get("/swagger/json", "198.51.100.8")).status).toBe(200);
      const send = await fetch(`${gw.base}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.7" },
        body: JSON.stringify({ phone: "+919876507001" }),
      });
      expect(send.status, await send.text()).toBe(200);
      expect(await gw.metrics.render().then((p) => p.body)).toContain(
        'otp_gateway_rate_limited_total{scope="get"} 3',
      );
    } finally {
      await gw.stop();
    }
  });

  test("only GET and HEAD of the probes are exempt: other methods on their paths meet the limit", async () => {
    const gw = gateway({ IP_GET_LIMITS: "3/1m" });
    try {
      for (let i = 0; i < 3; i++) expect((await gw.get("/problems")).status).toBe(200);
      const put = await fetch(`${gw.base}/healthz`, {
        method: "PUT",
        headers: { "x-forwarded-for": "198.51.100.7" },
      });
      expect(put.status).toBe(429);
      expect(
        (await fetch(`${gw.base}/readyz`, { method: "HEAD", headers: { "x-forwarded-for": "198.51.100.7" } }))
          .status,
      ).toBe(200);
    } finally {
      await gw.stop();
    }
  });

  test("a subnet has a limit of its own (SUBNET_GET_LIMITS): fresh addresses of a /24 or a /48 do not multiply it", async () => {
    const gw = gateway({ IP_GET_LIMITS: "2/1m", SUBNET_GET_LIMITS: "4/1m" });
    try {
      const v4 = await Promise.all(
        ["1", "2", "3", "4", "5"].map((h) => gw.get("/problems", `203.0.113.${h}`).then((r) => r.status)),
      );
      expect(v4.filter((s) => s === 200)).toHaveLength(4);
      const refused = await gw.get("/problems", "203.0.113.77");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("ratelimit-policy")).toBe('"get-subnet-1m";q=4;w=60');
      const v6 = await Promise.all(
        ["1", "2", "3", "4", "5"].map((k) => gw.get("/problems", `2001:db8:0:${k}::1`).then((r) => r.status)),
      );
      expect(v6.filter((s) => s === 200)).toHaveLength(4);
      expect((await gw.get("/problems", "198.51.100.9")).status).toBe(200); // another /24
    } finally {
      await gw.stop();
    }
  });

  test("under a flood of probes, their request lines are sampled and the rest counted", async () => {
    const gw = gateway();
    try {
      await Promise.all(Array.from({ length: 300 }, () => gw.get("/healthz").then((r) => r.arrayBuffer())));
      await Bun.sleep(20);
      const probeLines = gw.capture.lines.filter((l) => l.includes('"path":"/healthz"'));
      expect(probeLines.length).toBeGreaterThan(0);
      expect(probeLines.length).toBeLessThanOrEqual(40);
      const page = (await gw.metrics.render()).body;
      const unwritten = Number(
        /otp_gateway_request_lines_not_written_total\{scope="probe"\} (\d+)/.exec(page)?.[1],
      );
      expect(unwritten + probeLines.length).toBe(300);
    } finally {
      await gw.stop();
    }
  });

  test("IP_GET_LIMITS=off: a loop of GETs is answered in full", async () => {
    const gw = gateway({ IP_GET_LIMITS: "off" });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 700 }, () => gw.get("/problems").then((r) => r.status)),
      );
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await gw.stop();
    }
  });

  test("the default lets a docs reader, a scraper and a prober on one address through", async () => {
    const gw = gateway();
    try {
      // A Swagger UI load, a scrape every second for a minute, problem pages: well under 600 a minute.
      const paths = [
        "/swagger",
        "/swagger/json",
        "/problems",
        ...Array.from({ length: 60 }, () => "/metrics"),
      ];
      for (const path of paths) expect((await gw.get(path)).status, path).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe("held answers", () => {
  test("at most `max` are held at once; past that a refusal goes out at once", async () => {
    const held = new HeldAnswers(200, 2);
    const answers = [0, 1, 2].map((i) => held.hold(new Response(String(i))));
    expect(answers[0]).toBeInstanceOf(Promise);
    expect(answers[1]).toBeInstanceOf(Promise);
    expect(answers[2]).toBeInstanceOf(Response);
    expect(held.size).toBe(2);
    expect(await Promise.all(answers.map(async (a) => (await a).text()))).toEqual(["0", "1", "2"]);
    expect(held.size).toBe(0);
  });
});
