import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The alert rules the gateway ships (deploy/prometheus/otp-gateway-alerts.yml): `promtool check
 * rules`, then `promtool test rules` over made-up series, each alert once firing and once quiet.
 * The expected annotations are the rule's own, its `{{ $labels.x }}` filled in, so that the cases
 * below say only what fires and with which labels.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const RULES = join(ROOT, "deploy/prometheus/otp-gateway-alerts.yml");
const dir = mkdtempSync(join(tmpdir(), "otp-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Case {
  /** What the series say, for the failure message. */
  what: string;
  series: Record<string, string>;
  at: string;
  /** The alert expected, and the labels of each firing instance (none: it stays quiet). */
  alert: string;
  fires: Record<string, string>[];
}

/** `a+bxN`: promtool's expanding notation, a counter that rises by `b` each minute for N minutes. */
const rising = (by: number, minutes: number) => `0+${by}x${minutes}`;
const flat = (value: number, minutes: number) => `${value}x${minutes}`;
/** Upstream attempts per minute by status class, as histogram counts (only `_count` is asked). */
const upstream = (statusClass: string) =>
  `otp_gateway_upstream_request_duration_seconds_count{endpoint="send",status_class="${statusClass}"}`;
const answers = (statusClass: string) =>
  `otp_gateway_http_request_duration_seconds_count{route="/v1/otp/send",status_class="${statusClass}"}`;
/** Send latencies: `fast` per minute under 0.25 s, `slow` per minute between 2.5 and 5 s. */
const latency = (fast: number, slow: number): Record<string, string> =>
  Object.fromEntries(
    ["0.25", "2.5", "5", "+Inf"].map((le) => [
      `otp_gateway_upstream_request_duration_seconds_bucket{endpoint="send",status_class="2xx",le="${le}"}`,
      rising(le === "0.25" || le === "2.5" ? fast : fast + slow, 30),
    ]),
  );

const CASES: Case[] = [
  {
    what: "sends failing for lack of balance",
    series: { 'otp_gateway_sends_total{outcome="provider_unavailable"}': rising(2, 10) },
    at: "6m",
    alert: "OtpGatewayWalletEmpty",
    fires: [{}],
  },
  {
    what: "sends all going out",
    series: {
      'otp_gateway_sends_total{outcome="provider_unavailable"}': flat(0, 10),
      'otp_gateway_sends_total{outcome="sent"}': rising(50, 10),
    },
    at: "6m",
    alert: "OtpGatewayWalletEmpty",
    fires: [],
  },
  {
    what: "the API key refused",
    series: { 'otp_gateway_sends_total{outcome="gateway_misconfigured"}': rising(1, 10) },
    at: "6m",
    alert: "OtpGatewayUpstreamKeyRefused",
    fires: [{}],
  },
  {
    what: "no key refused",
    series: { 'otp_gateway_sends_total{outcome="gateway_misconfigured"}': flat(0, 10) },
    at: "6m",
    alert: "OtpGatewayUpstreamKeyRefused",
    fires: [],
  },
  {
    what: "the open share of *'s 1h window spent on one gateway",
    series: {
      'otp_gateway_send_budget_open_remaining{budget="*",window="1000/1h",instance="a"}': "5 2 0 0",
      'otp_gateway_send_budget_open_remaining{budget="*",window="1000/1h",instance="b"}': "9 4 1 1",
    },
    at: "3m",
    alert: "OtpGatewayBudgetOpenShareSpent",
    fires: [{ budget: "*", window: "1000/1h" }],
  },
  {
    what: "open shares left",
    series: { 'otp_gateway_send_budget_open_remaining{budget="*",window="1000/1h"}': "500 300 200 100" },
    at: "3m",
    alert: "OtpGatewayBudgetOpenShareSpent",
    fires: [],
  },
  {
    what: "IN's budget spent",
    series: { 'otp_gateway_send_budget_remaining{budget="IN",window="500/1h"}': "10 0 0" },
    at: "2m",
    alert: "OtpGatewayBudgetExhausted",
    fires: [{ budget: "IN", window: "500/1h" }],
  },
  {
    what: "the reserve left, the open share spent",
    series: { 'otp_gateway_send_budget_remaining{budget="IN",window="500/1h"}': "120 100 100" },
    at: "2m",
    alert: "OtpGatewayBudgetExhausted",
    fires: [],
  },
  {
    what: "an attack held at the bounds",
    series: {
      'otp_gateway_guard_refused_total{rule="block-unproven"}': rising(10, 15),
      'otp_gateway_guard_refused_total{rule="budget"}': rising(10, 15),
    },
    at: "12m",
    alert: "OtpGatewayPumpingRefusals",
    fires: [{ rule: "block-unproven" }],
  },
  {
    what: "a few refusals",
    series: { 'otp_gateway_guard_refused_total{rule="block-unproven"}': rising(1, 15) },
    at: "12m",
    alert: "OtpGatewayPumpingRefusals",
    fires: [],
  },
  {
    what: "a fifth of upstream calls failing",
    series: {
      [upstream("2xx")]: rising(80, 20),
      [upstream("5xx")]: rising(10, 20),
      [upstream("timeout")]: rising(10, 20),
    },
    at: "15m",
    alert: "OtpGatewayUpstreamErrors",
    fires: [{}],
  },
  {
    what: "one upstream call in a hundred failing",
    series: { [upstream("2xx")]: rising(99, 20), [upstream("5xx")]: rising(1, 20) },
    at: "15m",
    alert: "OtpGatewayUpstreamErrors",
    fires: [],
  },
  {
    what: "most sends taking 2.5 to 5 s upstream",
    series: latency(10, 90),
    at: "25m",
    alert: "OtpGatewayUpstreamSlow",
    fires: [{}],
  },
  {
    what: "sends answered upstream under 250 ms",
    series: latency(100, 1),
    at: "25m",
    alert: "OtpGatewayUpstreamSlow",
    fires: [],
  },
  {
    what: "Redis commands failing",
    series: { otp_gateway_redis_errors_total: rising(3, 15) },
    at: "12m",
    alert: "OtpGatewayRedisErrors",
    fires: [{}],
  },
  {
    what: "one Redis error, a blip (a restart, one timeout)",
    series: { otp_gateway_redis_errors_total: "0 0 0 1 1 1 1 1 1 1 1" },
    at: "8m",
    alert: "OtpGatewayRedisErrors",
    fires: [],
  },
  {
    what: "no Redis errors",
    series: { otp_gateway_redis_errors_total: flat(4, 10) },
    at: "8m",
    alert: "OtpGatewayRedisErrors",
    fires: [],
  },
  {
    what: "a tenth of answers 5xx",
    series: { [answers("2xx")]: rising(90, 20), [answers("5xx")]: rising(10, 20) },
    at: "15m",
    alert: "OtpGatewayServerErrors",
    fires: [{}],
  },
  {
    what: "answers mostly 2xx and 4xx",
    series: {
      [answers("2xx")]: rising(90, 20),
      [answers("4xx")]: rising(30, 20),
      [answers("5xx")]: rising(1, 20),
    },
    at: "15m",
    alert: "OtpGatewayServerErrors",
    fires: [],
  },
  {
    what: "codes to BD sent and not verified",
    series: {
      'otp_gateway_pumping_sent_total{country="BD"}': rising(5, 100),
      'otp_gateway_pumping_verified_total{country="BD"}': rising(1, 100),
      'otp_gateway_pumping_sent_total{country="IN"}': rising(5, 100),
      'otp_gateway_pumping_verified_total{country="IN"}': rising(4, 100),
    },
    at: "90m",
    alert: "OtpGatewayConversionDropping",
    fires: [{ country: "BD" }],
  },
  {
    what: "few codes to a country that converts badly",
    series: {
      'otp_gateway_pumping_sent_total{country="BD"}': rising(0.5, 100),
      'otp_gateway_pumping_verified_total{country="BD"}': flat(0, 100),
    },
    at: "90m",
    alert: "OtpGatewayConversionDropping",
    fires: [],
  },
];

const rules = (): Rule[] =>
  (Bun.YAML.parse(readFileSync(RULES, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

/** The rule's annotations as promtool expands them for an instance with these labels. */
function annotationsFor(rule: Rule, labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([name, text]) => [
      name,
      text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, label: string) => labels[label] ?? ""),
    ]),
  );
}

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["promtool", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: stdout + stderr };
}

describe("the alert rules in deploy/prometheus", () => {
  test("promtool check rules: valid", async () => {
    const { code, out } = await promtool("check", "rules", RULES);
    expect(code, out).toBe(0);
    expect(out).toContain(`SUCCESS: ${rules().length} rules found`);
  });

  test("every alert has a case that fires it and one that leaves it quiet", () => {
    for (const rule of rules()) {
      const cases = CASES.filter((c) => c.alert === rule.alert);
      expect(
        cases.some((c) => c.fires.length > 0),
        `${rule.alert} fires in a case`,
      ).toBe(true);
      expect(
        cases.some((c) => c.fires.length === 0),
        `${rule.alert} stays quiet in a case`,
      ).toBe(true);
    }
  });

  test("promtool test rules: each alert fires on its made-up series and stays quiet on the others", async () => {
    const byName = new Map(rules().map((r) => [r.alert, r]));
    const tests = CASES.map((c) => {
      const rule = byName.get(c.alert);
      if (!rule) throw new Error(`no rule ${c.alert} for the case "${c.what}"`);
      return {
        name: `${c.alert}: ${c.what}`,
        interval: "1m",
        input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
        alert_rule_test: [
          {
            eval_time: c.at,
            alertname: c.alert,
            exp_alerts: c.fires.map((labels) => ({
              exp_labels: { ...rule.labels, ...labels },
              exp_annotations: annotationsFor(rule, labels),
            })),
          },
        ],
      };
    });
    const file = join(dir, "alerts.test.yml");
    await Bun.write(file, JSON.stringify({ rule_files: [RULES], evaluation_interval: "1m", tests }, null, 2));
    const { code, out } = await promtool("test", "rules", file);
    expect(code, out).toBe(0);
    expect(out).toContain("SUCCESS");
  });
});
