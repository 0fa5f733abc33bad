import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { loadConfig } from "../../src/config/index";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { budgetOf } from "../support/given";
import { captureLogger, startMessaging, testApp } from "../support/harness";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

let phones = 0;
const nextPhone = () => `+9197${String(20_000_000 + phones++).padStart(8, "0")}`;

describe("send budgets", () => {
  test("the defaults carry a budget; only `off` turns budgets off", () => {
    const budgets = loadConfig({}).SEND_BUDGETS;
    expect(budgets.map((b) => [b.scope, b.windows.map((w) => w.label)])).toEqual([
      ["*", ["1000/1h", "10000/24h"]],
    ]);
    expect(loadConfig({ SEND_BUDGETS: "off" }).SEND_BUDGETS).toEqual([]);
    expect(loadConfig({ SEND_BUDGETS: "*=20000/24h,in=5000/1h" }).SEND_BUDGETS.map((b) => b.scope)).toEqual([
      "*",
      "IN",
    ]);
    expect(() => loadConfig({ SEND_BUDGETS: "" })).not.toThrow(); // unset: the default
    expect(() => loadConfig({ SEND_BUDGETS: "*=0/1h" })).toThrow("SEND_BUDGETS");
    expect(() => loadConfig({ SEND_BUDGETS: "none" })).toThrow("SEND_BUDGETS");
  });

  test("a country's budget refuses that country only", async () => {
    const { logger } = captureLogger();
    const client = testApp(startMessaging(fake.url, logger), logger, {
      env: { SEND_BUDGETS: "*=100/1h,IN=2/1h", ALLOWED_COUNTRIES: "IN,US" },
    });
    expect((await client.post("/v1/otp/send", { phone: nextPhone() })).status).toBe(200);
    expect((await client.post("/v1/otp/send", { phone: nextPhone() })).status).toBe(200);
    const third = await client.post("/v1/otp/send", { phone: nextPhone() });
    expect(third.status, await third.clone().text()).toBe(503);
    expect((await client.post("/v1/otp/send", { phone: "+14155552671" })).status).toBe(200);
    expect(fake.sms).toHaveLength(3);
  });

  test("a replayed idempotent send and a send the upstream refused use no budget", async () => {
    const { logger } = captureLogger();
    const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
    const client = testApp(startMessaging(fake.url, logger), logger, {
      env: { SEND_BUDGETS: "*=2/1h" },
      metrics,
    });
    const keyed = { "idempotency-key": crypto.randomUUID() };
    const phone = nextPhone();
    expect((await client.post("/v1/otp/send", { phone }, keyed)).status).toBe(200);
    const replay = await client.post("/v1/otp/send", { phone }, keyed);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    fake.fail("/otp/send", { kind: "status", status: 402 }); // no balance: surely not sent
    expect((await client.post("/v1/otp/send", { phone: nextPhone() })).status).toBe(503);
    // One budget slot used so far: one more send passes, the next is refused.
    expect((await client.post("/v1/otp/send", { phone: nextPhone() })).status).toBe(200);
    const refused = await client.post("/v1/otp/send", { phone: nextPhone() });
    expect(((await refused.json()) as { code: string }).code).toBe("SEND_BUDGET_EXHAUSTED");
    expect(fake.sms).toHaveLength(2);
    const page = (await metrics.render()).body;
    expect(page).toContain('otp_gateway_send_budget_used{budget="*",window="2/1h"} 2');
    expect(page).toContain('otp_gateway_send_budget_remaining{budget="*",window="2/1h"} 0');
    expect(page).toContain('otp_gateway_estimated_spend_inr_total{country="IN"} 0.5');
  });

  test("a send refused after a retried 5xx stays counted: the first attempt may have gone out", async () => {
    const { logger } = captureLogger();
    const store = new MemoryStore();
    const client = testApp(startMessaging(fake.url, logger), logger, {
      env: { SEND_BUDGETS: "*=5/1h", PHONE_SEND_LIMITS: "1/1h" },
      store,
    });
    const phone = nextPhone();
    fake.fail("/otp/send", { kind: "status", status: 502 });
    fake.fail("/otp/send", { kind: "status", status: 429 });
    const first = await client.post("/v1/otp/send", { phone });
    expect(first.status).toBe(429); // the upstream's refusal, on the retry
    expect(fake.calls("/otp/send")).toHaveLength(2);
    // Not taken back: the phone's window holds it, and the budget counts it.
    const second = await client.post("/v1/otp/send", { phone });
    expect(second.headers.get("ratelimit")).toStartWith('"phone-1h"');
    expect(fake.calls("/otp/send")).toHaveLength(2);
    expect((await store.budgetUse(budgetOf("*=5/1h"))).used).toEqual([1]);
  });
});
