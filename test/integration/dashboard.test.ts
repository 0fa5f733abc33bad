import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitHealthy } from "../../scripts/lib/local";

/**
 * The Grafana dashboard the gateway ships (deploy/grafana/otp-gateway-dashboard.json), checked
 * against the real thing: a gateway over a socket, a Prometheus (Debian's) scraping it every
 * second, and every panel's query asked of that Prometheus. A query must parse and run, and every
 * metric it names must be one the gateway's /metrics page has.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const DASHBOARD = join(ROOT, "deploy/grafana/otp-gateway-dashboard.json");
const dir = mkdtempSync(join(tmpdir(), "otp-dashboard-"));
let gateway: ReturnType<typeof Bun.spawn> | undefined;
let prometheus: ReturnType<typeof Bun.spawn> | undefined;
let gatewayUrl = "";
let prometheusUrl = "";

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const panels = (): Panel[] => (JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] }).panels;
/** A panel's query as Grafana sends it, its variables filled in. */
const asSent = (expr: string) => expr.replaceAll("$__rate_interval", "1m");

async function query(expr: string): Promise<{ status: string; error?: string }> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; error?: string };
}

beforeAll(async () => {
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = Bun.spawn(["bun", join(ROOT, "src/main.ts"), "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      NODE_ENV: "development",
      OTP_PROVIDER: "console",
      METRICS_ACCESS: "public",
      LOG_LEVEL: "error",
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitHealthy(port);
  // Traffic, so that the histograms and counters have series.
  const sent = await fetch(`${gatewayUrl}/v1/otp/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"phone":"+919876500101"}',
  });
  expect(sent.status).toBe(200);
  const promPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${promPort}`;
  const config = join(dir, "prometheus.yml");
  await Bun.write(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: "otp-gateway", static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
    }),
  );
  prometheus = Bun.spawn(
    [
      "prometheus",
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  // Ready once Prometheus has scraped the gateway's own metrics twice (a rate needs two points).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await fetch(
      `${prometheusUrl}/api/v1/query?query=count_over_time(otp_gateway_build_info[1m])`,
    )
      .then((r) => r.json() as Promise<{ data?: { result?: { value: [number, string] }[] } }>)
      .catch(() => undefined);
    if (Number(answer?.data?.result?.[0]?.value[1] ?? 0) >= 2) break;
    if (Date.now() > deadline) throw new Error("Prometheus did not scrape the gateway within 20 s");
    await Bun.sleep(250);
  }
}, 30_000);

afterAll(async () => {
  for (const proc of [prometheus, gateway]) proc?.kill();
  await Promise.all([prometheus?.exited, gateway?.exited]);
  rmSync(dir, { recursive: true, force: true });
});

describe("the Grafana dashboard in deploy/grafana", () => {
  test("has the panels an operator needs", () => {
    const titles = panels().map((p) => p.title.toLowerCase());
    for (const wanted of [
      "sends by outcome",
      "conversion",
      "spend",
      "budget",
      "refusals",
      "upstream latency",
      "gateway latency",
    ]) {
      expect(
        titles.some((t) => t.includes(wanted)),
        `a panel on ${wanted}: ${titles.join("; ")}`,
      ).toBe(true);
    }
  });

  test("every panel's query runs on a Prometheus scraping a gateway", async () => {
    for (const panel of panels()) {
      for (const { expr } of panel.targets) {
        const answer = await query(asSent(expr));
        expect(answer, `${panel.title}: ${expr}`).toEqual({
          status: "success",
          data: expect.anything(),
        } as never);
      }
    }
  });

  test("every metric a panel names is on the gateway's /metrics page", async () => {
    const page = await (await fetch(`${gatewayUrl}/metrics`)).text();
    const exposed = new Set([...page.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const named = panels().flatMap((p) =>
      p.targets.flatMap((t) => [...t.expr.matchAll(/\b(otp_gateway_\w+)/g)].map((m) => m[1] ?? "")),
    );
    expect(named.length).toBeGreaterThan(10);
    const missing = named.filter((name) => !exposed.has(name.replace(/_(bucket|sum|count)$/, "")));
    expect(missing, `metrics the dashboard names that the gateway does not expose`).toEqual([]);
  });
});
