import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { socketGateway } from "../support/socket";

/**
 * The spend guard's rules as an attacker and a real user meet them, over a real socket, on the
 * shipped defaults of the rules under test (the harness relaxes them for every other test).
 */
const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const ADMIN_TOKEN = "admin-token-for-guard-rules-0123456789";
/** The rules on their defaults; the budgets out of the way unless a test sets them. */
const RULES = {
  PUMPING_UNPROVEN_BLOCK: "10",
  PUMPING_UNPROVEN_RANGE: "30",
  ADMIN_TOKEN,
};

let blocks = 0;
/** A 1 000-number block in a range no other test of this file uses: +91 9 <pid> <n> 0 ###. */
const freshBlock = () =>
  `+919${String(process.pid % 1000).padStart(3, "0")}${String(blocks++ % 100).padStart(2, "0")}0`;
const number = (block: string, n: number) => `${block}${String(n).padStart(3, "0")}`;

function gateway(env: Record<string, string> = {}) {
  const served = socketGateway(fake.url, { ...RULES, ...env });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${served.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const send = (phone: string) => post("/v1/otp/send", { phone });
  /** Verifies the code the SMS of `requestId` carried; the guard counts it just after the answer. */
  const verify = async (requestId: string) => {
    const res = await post("/v1/otp/verify", { verificationId: requestId, code: fake.sentCode(requestId) });
    await Bun.sleep(10);
    return res;
  };
  const admin = async () => {
    const res = await fetch(`${served.base}/admin/guard`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return (await res.json()) as {
      bounded: { prefix: string; range: boolean; unproven: number; bound: number }[];
      budgets: { openRemaining: number; remaining: number }[];
    };
  };
  return { ...served, send, verify, admin };
}

describe("the spend guard's rules over a real socket", () => {
  test("a fresh block under attack yields 10 SMS, then a generic 403; the rule is named in the log and metrics only", async () => {
    const gw = gateway();
    try {
      const block = freshBlock();
      const statuses = [];
      for (let i = 0; i < 30; i++) statuses.push((await gw.send(number(block, i))).status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.slice(10).every((s) => s === 403)).toBe(true);
      expect(fake.sms).toHaveLength(10);
      const refused = await gw.send(number(block, 99));
      expect(refused.body.code).toBe("DESTINATION_BLOCKED");
      expect(JSON.stringify(refused.body)).not.toContain("unproven");
      const lines = gw.lines().filter((l) => l.msg === "request" && l.status === 403);
      expect(lines.every((l) => l.rule === "block-unproven")).toBe(true);
      expect(await gw.page()).toContain('otp_gateway_guard_refused_total{rule="block-unproven"} 21');
      const state = await gw.admin();
      expect(state.bounded).toEqual([{ prefix: block, range: false, unproven: 10, bound: 10 }]);
    } finally {
      await gw.stop();
    }
  });

  test("30 new users of one block in a minute who verify as they go are all served", async () => {
    const gw = gateway();
    try {
      const block = freshBlock();
      const ids: string[] = [];
      // Each user enters the code while the next five ask for theirs: six codes wait at most.
      for (let i = 0; i < 30; i++) {
        const sent = await gw.send(number(block, i));
        expect(sent.status, JSON.stringify(sent.body)).toBe(200);
        ids.push(String(sent.body.verificationId));
        const due = ids[i - 5];
        if (due) expect((await gw.verify(due)).body.verified).toBe(true);
      }
      for (const id of ids.slice(-5)) expect((await gw.verify(id)).body.verified).toBe(true);
      expect(fake.sms).toHaveLength(30);
    } finally {
      await gw.stop();
    }
  });

  test("a code verified twice gives back one place; a returning user is served at the bound", async () => {
    const gw = gateway();
    try {
      const block = freshBlock();
      const user = number(block, 500);
      const first = await gw.send(user);
      expect((await gw.verify(String(first.body.verificationId))).body.verified).toBe(true);
      const ids = [];
      for (let i = 0; i < 10; i++) ids.push(String((await gw.send(number(block, i))).body.verificationId));
      expect((await gw.send(number(block, 10))).status).toBe(403);
      // The same code twice: the second is refused, and only one place comes back.
      const id = String(ids[0]);
      expect((await gw.verify(id)).body.verified).toBe(true);
      expect((await gw.verify(id)).body.verified).toBe(false);
      expect((await gw.send(number(block, 11))).status).toBe(200);
      expect((await gw.send(number(block, 12))).status).toBe(403);
      // The returning user is not refused by the bound, and takes no place in it.
      for (let i = 0; i < 3; i++) expect((await gw.send(user)).status).toBe(200);
      expect((await gw.send(number(block, 13))).status).toBe(403);
    } finally {
      await gw.stop();
    }
  });

  test("an attack spread over a range's blocks yields its 30, then the range's new numbers are refused", async () => {
    const gw = gateway();
    try {
      const range = freshBlock().slice(0, -2);
      let sent = 0;
      for (let k = 0; k < 60; k++) {
        if ((await gw.send(`${range}${String(k).padStart(2, "0")}123`)).status === 200) sent++;
      }
      expect(sent).toBe(30);
      const lines = gw.lines().filter((l) => l.msg === "request" && l.status === 403);
      expect(new Set(lines.map((l) => l.rule))).toEqual(new Set(["range-unproven"]));
    } finally {
      await gw.stop();
    }
  });

  test("monitor mode refuses nothing, and counts and logs the rule that would have", async () => {
    const gw = gateway({ PUMPING_GUARD: "monitor" });
    try {
      const block = freshBlock();
      for (let i = 0; i < 15; i++) expect((await gw.send(number(block, i))).status).toBe(200);
      const monitored = gw.lines().filter((l) => l.msg === "request" && l.rule === "monitor:block-unproven");
      expect(monitored).toHaveLength(5);
      expect(await gw.page()).toContain('otp_gateway_guard_monitored_total{rule="block-unproven"} 5');
    } finally {
      await gw.stop();
    }
  });

  test("an upstream outage counts toward no bound: 20 failed sends, then the block still has its 10", async () => {
    const gw = gateway({ UPSTREAM_RETRIES: "0" });
    try {
      const block = freshBlock();
      fake.fail("/otp/send", { kind: "status", status: 503, body: "down" }, 1_000);
      for (let i = 0; i < 20; i++) {
        const failed = await gw.send(number(block, i));
        expect(failed.status, `${i}: ${JSON.stringify(failed.body)}`).toBeGreaterThanOrEqual(500);
      }
      expect(fake.sms).toHaveLength(0);
      fake.reset(); // the upstream is back
      for (let i = 20; i < 30; i++) expect((await gw.send(number(block, i))).status).toBe(200);
      expect((await gw.send(number(block, 30))).status).toBe(403);
    } finally {
      await gw.stop();
    }
  });

  test("a safe-listed block counts nowhere: its range keeps all its places for the neighbours", async () => {
    const block = freshBlock();
    const gw = gateway({ PUMPING_SAFE_LIST: block, PUMPING_UNPROVEN_RANGE: "12" });
    try {
      for (let i = 0; i < 30; i++) expect((await gw.send(number(block, i))).status).toBe(200);
      // 20 neighbours of its range (none ends in 0, as the safe block does), one code each.
      const neighbours = Array.from(
        { length: 20 },
        (_, i) => `${block.slice(0, -2)}${11 + i + Math.floor(i / 9)}`,
      );
      let sent = 0;
      for (const neighbour of neighbours) if ((await gw.send(`${neighbour}001`)).status === 200) sent++;
      expect(sent).toBe(12);
    } finally {
      await gw.stop();
    }
  });

  test("keyed retries: 40 requests with one key against a failing upstream make at most (1 + 3) × 3 upstream calls", async () => {
    const gw = gateway({ SEND_BUDGETS: "*=1/1h" });
    try {
      fake.fail("/otp/send", { kind: "status", status: 500, body: "oops" }, 1_000);
      const phone = number(freshBlock(), 1);
      const codes = [];
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${gw.base}/v1/otp/send`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": "one-key-for-all" },
          body: JSON.stringify({ phone }),
        });
        codes.push(((await res.json()) as { code?: string }).code);
      }
      expect(codes.slice(0, 4).every((c) => c === "UPSTREAM_ERROR")).toBe(true);
      expect(new Set(codes.slice(4))).toEqual(new Set(["IDEMPOTENCY_RETRIES_EXHAUSTED"]));
      // The first send and three retries, each with the client's own two retries.
      expect(fake.calls("/otp/send").length).toBeLessThanOrEqual(12);
    } finally {
      await gw.stop();
    }
  });

  test("the reserve in monitor mode refuses nothing and counts what it would have; with the guard off there is none", async () => {
    const monitor = gateway({ SEND_BUDGETS: "*=10/1h", BUDGET_RESERVE: "50", PUMPING_GUARD: "monitor" });
    const off = gateway({ SEND_BUDGETS: "*=10/1h", BUDGET_RESERVE: "50", PUMPING_GUARD: "off" });
    try {
      for (const gw of [monitor, off]) {
        for (let i = 0; i < 10; i++) expect((await gw.send(`${freshBlock()}001`)).status).toBe(200);
        expect((await gw.send(`${freshBlock()}001`)).status).toBe(503); // the whole budget
      }
      const rules = (gw: typeof monitor) =>
        gw
          .lines()
          .filter((l) => l.msg === "request" && l.status === 200)
          .map((l) => l.rule);
      expect(rules(monitor)).toEqual([
        ...Array(5).fill(undefined),
        ...Array(5).fill("monitor:budget-reserve"),
      ]);
      expect(await monitor.page()).toContain('otp_gateway_guard_monitored_total{rule="budget-reserve"} 5');
      expect(
        monitor
          .lines()
          .some((l) => l.msg === "send budget's open share spent (monitor): new numbers would be refused"),
      ).toBe(true);
      expect(rules(off).every((r) => r === undefined)).toBe(true);
      expect(off.lines().some((l) => String(l.msg).startsWith("send budget's open share"))).toBe(false);
    } finally {
      await monitor.stop();
      await off.stop();
    }
  });

  test("the reserve: past a budget's open share new numbers get the 503 and returning users are served; one alert", async () => {
    const gw = gateway({ SEND_BUDGETS: "*=10/1h", BUDGET_RESERVE: "50" });
    try {
      const block = freshBlock();
      const user = number(block, 500);
      expect((await gw.verify(String((await gw.send(user)).body.verificationId))).body.verified).toBe(true);
      for (let i = 0; i < 4; i++) expect((await gw.send(`${freshBlock()}001`)).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        const refused = await gw.send(`${freshBlock()}001`);
        expect(refused.status).toBe(503);
        expect(refused.body.code).toBe("SEND_BUDGET_EXHAUSTED");
      }
      for (let i = 0; i < 5; i++) expect((await gw.send(user)).status).toBe(200);
      expect(await gw.admin()).toMatchObject({ budgets: [{ remaining: 0, openRemaining: 0 }] });
      // The whole budget spent: the returning user is refused too.
      expect((await gw.send(user)).status).toBe(503);
      const alerts = gw.lines().filter((l) => l.level === "error");
      expect(alerts.map((l) => l.msg)).toEqual([
        "send budget's open share spent: only returning users are served",
        "send budget exhausted: sends are refused until it frees",
      ]);
      const refusedLines = gw.lines().filter((l) => l.msg === "request" && l.status === 503);
      expect(refusedLines.map((l) => l.rule)).toEqual([
        "budget-reserve",
        "budget-reserve",
        "budget-reserve",
        "budget",
      ]);
      const page = await gw.page();
      expect(page).toContain('otp_gateway_guard_refused_total{rule="budget-reserve"} 3');
      expect(page).toContain('otp_gateway_send_budget_open_remaining{budget="*",window="10/1h"} 0');
    } finally {
      await gw.stop();
    }
  });
});
