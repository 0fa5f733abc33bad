import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";

const fake = new FakeStartMessaging({ ttlMs: 1_000 });
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

/** Time compressed: codes live 1 s, a prefix is judged on the last 6 s, blocks last 2 s, doubling. */
const GUARD = {
  OTP_TTL: "1s",
  PUMPING_WINDOW: "6s",
  PUMPING_MIN_SENDS: "5",
  PUMPING_MIN_CONVERSION: "50",
  PUMPING_BLOCK: "2s",
  PUMPING_BLOCK_MAX: "10s",
  ALLOWED_COUNTRIES: "IN",
};
let blocks = 0;
/** A 1 000-number block no other test uses: +9198765<nn>###. */
const freshBlock = () => `+9198765${String(10 + blocks++).padStart(2, "0")}`;

function gateway(env: Record<string, string> = {}) {
  const capture = captureLogger();
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const client = testApp(startMessaging(fake.url, capture.logger), capture.logger, {
    env: { ...GUARD, ...env },
    metrics,
  });
  const send = (phone: string) => client.post("/v1/otp/send", { phone });
  const lines = () => capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { client, send, lines, capture, metrics };
}

async function sendAll(send: (phone: string) => Promise<Response>, prefix: string, count: number, from = 0) {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) {
    const res = await send(`${prefix}${String(i).padStart(3, "0")}`);
    expect(res.status, await res.clone().text()).toBe(200);
    ids.push(((await res.json()) as { verificationId: string }).verificationId);
  }
  return ids;
}

describe("the pumping guard", () => {
  test("enforce: a prefix whose codes are not verified is blocked; a generic 403, nothing sent, a warn line with the prefix", async () => {
    const { send, lines, capture, metrics } = gateway();
    const prefix = freshBlock();
    await sendAll(send, prefix, 6);
    await Bun.sleep(1_250); // the codes expire: now they count as not verified
    const refused = await send(`${prefix}777`);
    const body = (await refused.json()) as { code: string; detail: string };
    expect(refused.status).toBe(403);
    expect(body.code).toBe("DESTINATION_BLOCKED");
    expect(body.detail).not.toMatch(/[0-9]/); // no threshold, no duration, no number
    expect(fake.sms).toHaveLength(6);
    expect((await send(`${prefix}778`)).status).toBe(403);
    expect((await send("+919812345678")).status).toBe(200); // another prefix is not affected
    const warn = lines().find((e) => e.msg === "pumping guard: number prefix blocked");
    expect(warn).toMatchObject({
      level: "warn",
      prefix: `${prefix}***`,
      country: "IN",
      for: "2s",
      strikes: 1,
    });
    for (const line of capture.lines) expect(line).not.toContain(`${prefix}77`); // never a full number
    expect((await metrics.render()).body).toContain('otp_gateway_pumping_refused_total{country="IN"} 2');
  });

  test("monitor: the same traffic is only logged and counted", async () => {
    const { send, lines, metrics } = gateway({ PUMPING_GUARD: "monitor" });
    const prefix = freshBlock();
    await sendAll(send, prefix, 6);
    await Bun.sleep(1_250);
    expect((await send(`${prefix}777`)).status).toBe(200);
    expect(fake.sms).toHaveLength(7);
    expect(lines().some((e) => e.msg === "pumping guard (monitor): number prefix would be blocked")).toBe(
      true,
    );
    expect((await metrics.render()).body).toContain('otp_gateway_pumping_monitored_total{country="IN"} 1');
  });

  test("a converting prefix is never blocked", async () => {
    const { client, send } = gateway();
    const prefix = freshBlock();
    const ids = await sendAll(send, prefix, 8);
    for (const requestId of ids.slice(0, 6)) {
      const res = await client.post("/v1/otp/verify", {
        verificationId: requestId,
        code: fake.sentCode(requestId),
      });
      expect(await res.json()).toEqual({ verified: true });
    }
    await Bun.sleep(1_250);
    expect((await send(`${prefix}777`)).status).toBe(200);
  });

  test("a country under attack has its blocks judged on fewer sends", async () => {
    // A longer window: buckets of 42 ms, so the country's recent judged sends span 630 ms.
    const { send, lines } = gateway({ PUMPING_WINDOW: "60s" });
    // Ten blocks with 3 unverified codes each: under the 5 judged sends one block needs, but the
    // country's 30 judged sends, none verified, put it under attack (3 are then enough).
    const prefixes = Array.from({ length: 10 }, () => freshBlock());
    for (const prefix of prefixes) await sendAll(send, prefix, 3);
    await Bun.sleep(1_100);
    expect((await send(`${prefixes[0]}777`)).status).toBe(403);
    expect((await send(`${prefixes[9]}777`)).status).toBe(403);
    expect(lines().filter((e) => e.msg === "pumping guard: number prefix blocked")).toHaveLength(2);
  });

  test("a block is lifted after its time and longer on a repeat; the safe list is never blocked", async () => {
    const prefix = freshBlock();
    const { send, lines } = gateway({ PUMPING_SAFE_LIST: `${prefix}999` });
    await sendAll(send, prefix, 6);
    await Bun.sleep(1_250);
    expect((await send(`${prefix}777`)).status).toBe(403);
    expect((await send(`${prefix}999`)).status).toBe(200); // safe-listed number of a blocked prefix
    await Bun.sleep(2_050);
    await sendAll(send, prefix, 6, 100); // lifted: sends pass again, and are judged afresh
    await Bun.sleep(1_250);
    expect((await send(`${prefix}777`)).status).toBe(403);
    const blocked = lines().filter((e) => e.msg === "pumping guard: number prefix blocked");
    expect(blocked.map((e) => [e.for, e.strikes])).toEqual([
      ["2s", 1],
      ["4s", 2],
    ]);
  });

  test("over a real socket: a range pumped thinly over its blocks is refused as one, whatever the number's spelling", async () => {
    const capture = captureLogger();
    const served = listenApp(
      testDeps(startMessaging(fake.url, capture.logger), capture.logger, { env: GUARD }),
    );
    const post = (body: string) =>
      fetch(`${served.base}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    try {
      // Four codes to each of 7 blocks of the range +9198201: no block has its 5 judged sends, the
      // range has its 25.
      for (let k = 1; k <= 7; k++) {
        for (let i = 1; i <= 4; i++) {
          expect((await post(JSON.stringify({ phone: `+9198201${k}000${i}` }))).status).toBe(200);
        }
      }
      await Bun.sleep(1_250);
      expect((await post(JSON.stringify({ phone: "+919820190001" }))).status).toBe(403);
      // Formatted spellings are not E.164: refused before any check. JSON escapes decode to the range: blocked.
      for (const phone of ["+91 98201 80001", "+91-98201-80002", "+91 (98201) 80003"]) {
        expect((await post(`{"phone":"${phone}"}`)).status, phone).toBe(400);
      }
      for (const phone of ["\\u002b919820180004", "+9198201\\u00380005"]) {
        expect((await post(`{"phone":"${phone}"}`)).status, phone).toBe(403);
      }
      expect(fake.sms).toHaveLength(28);
      const warn = capture.lines
        .map((l) => JSON.parse(l))
        .find((e) => e.msg === "pumping guard: number range blocked");
      expect(warn).toMatchObject({ prefix: "+9198201*****", country: "IN" });
      expect((await post(JSON.stringify({ phone: "+919812345678" }))).status).toBe(200); // another range
    } finally {
      await served.stop();
    }
  });
});
