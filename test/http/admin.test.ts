import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { createApp } from "../../src/app";
import type { PumpingPolicy } from "../../src/domain/pumping";
import { socketPeer } from "../../src/http/guard";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp, testDeps } from "../support/harness";
import { portOf } from "../support/socket";
import { countSent, judgePrefix } from "../support/store-steps";

const TOKEN = "admin-token-0123456789";
const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

const POLICY: PumpingPolicy = {
  mode: "enforce",
  dropDigits: 3,
  rangeDropDigits: 5,
  windowMs: 600,
  bucketMs: 10,
  maturityMs: 50,
  minSends: 3,
  minConversion: 0.5,
  blockMs: 60_000,
  blockMaxMs: 120_000,
  safeList: [],
};

describe("admin routes", () => {
  const capture = captureLogger();
  const store = new MemoryStore();
  let base = "";
  let server: { stop(force?: boolean): Promise<unknown> } | undefined;
  beforeAll(() => {
    const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, {
      store,
      env: { ADMIN_TOKEN: TOKEN, PHONE_SEND_LIMITS: "1/1m", SEND_BUDGETS: "*=50/1h,IN=20/24h" },
    });
    const app = createApp({ ...deps, http: { ...deps.http, peerAddress: socketPeer } }).listen({
      port: 0,
      hostname: "127.0.0.1",
    });
    server = app;
    base = `http://127.0.0.1:${portOf(app)}`;
  });
  afterAll(async () => {
    await server?.stop(true);
  });
  const call = (method: string, path: string, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

  test("are not mounted without ADMIN_TOKEN", async () => {
    const { logger } = captureLogger();
    const client = testApp(startMessaging(fake.url, logger), logger);
    expect((await client.get("/admin/guard")).status).toBe(404);
  });

  test("refuse without the token, whatever the spelling; never answer without it", async () => {
    for (const [method, path] of [
      ["GET", "/admin/guard"],
      ["GET", "/admin/guard?x=1"],
      ["DELETE", "/admin/blocks/+919876543"],
      ["DELETE", "/admin/blocks/%2B919876543"],
      ["PUT", "/admin/safe-list/numbers/+919876543210"],
      ["DELETE", "/admin/phones/+919876543210/windows"],
      // Parameters that would be a 400: without the token they are a 401 first, like any other.
      ["DELETE", "/admin/blocks/abc"],
      ["PUT", "/admin/safe-list/numbers/+1"],
    ] as const) {
      for (const token of [null, "wrong-token-0123456789", `${TOKEN}x`]) {
        const res = await call(method, path, token);
        expect(res.status, `${method} ${path} with ${token}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
      }
    }
    for (const path of ["/admin/guard/", "/ADMIN/guard", "/admin//guard", "/admin/%67uard"]) {
      const res = await call("GET", path, null);
      expect([401, 404], path).toContain(res.status);
    }
  });

  test("show blocks and budget use; lift a block", async () => {
    const prefix = "+919876543";
    for (let i = 0; i < 4; i++) await countSent(store, prefix, POLICY);
    await Bun.sleep(80);
    expect((await judgePrefix(store, prefix, `${prefix}210`, POLICY)).state).toBe("newly_blocked");
    const state = (await (await call("GET", "/admin/guard")).json()) as {
      pumpingGuard: string;
      blocks: { prefix: string; range: boolean; remainingSeconds: number; strikes: number }[];
      budgets: { budget: string; window: string; used: number; remaining: number }[];
    };
    expect(state.pumpingGuard).toBe("enforce");
    expect(state.blocks).toEqual([{ prefix, range: false, remainingSeconds: 60, strikes: 1 }]);
    expect(state.budgets.map((b) => `${b.budget} ${b.window}`)).toEqual(["* 50/1h", "IN 20/24h"]);
    const lifted = await call("DELETE", `/admin/blocks/${encodeURIComponent(prefix)}`);
    expect(await lifted.json()).toEqual({ done: true });
    expect((await judgePrefix(store, prefix, `${prefix}210`, POLICY)).state).toBe("clear");
    expect(await (await call("DELETE", `/admin/blocks/${prefix}`)).json()).toEqual({ done: false });
    const line = capture.lines.map((l) => JSON.parse(l)).find((e) => e.msg === "admin: pumping block lifted");
    expect(line).toMatchObject({ prefix: `${prefix}***`, wasBlocked: true });
    // Only a number block is a prefix: a full number, or a block of another length, is refused.
    expect((await call("DELETE", "/admin/blocks/+919876543210")).status).toBe(400);
    expect((await call("PUT", "/admin/safe-list/prefixes/+9198765")).status).toBe(400);
  });

  test("a range blocked as a whole is listed as one and lifted by its prefix", async () => {
    const range = "+9198201";
    const block = (k: number) => `${range}${k}0`;
    // Two sends to each of 8 blocks: no block has its 3 judged sends, the range its 15.
    for (let k = 1; k <= 8; k++) {
      for (const n of ["001", "002"]) {
        expect((await judgePrefix(store, block(k), `${block(k)}${n}`, POLICY)).state).toBe("clear");
      }
    }
    await Bun.sleep(80);
    expect(await judgePrefix(store, block(9), `${block(9)}001`, POLICY)).toMatchObject({
      state: "newly_blocked",
      range: true,
    });
    const state = (await (await call("GET", "/admin/guard")).json()) as {
      blocks: { prefix: string; range: boolean }[];
    };
    expect(state.blocks.filter((b) => b.prefix.startsWith(range))).toEqual([
      expect.objectContaining({ prefix: range, range: true }),
    ]);
    expect(await (await call("DELETE", `/admin/blocks/${encodeURIComponent(range)}`)).json()).toEqual({
      done: true,
    });
    expect((await judgePrefix(store, block(6), `${block(6)}001`, POLICY)).state).toBe("clear");
    const line = capture.lines
      .map((l) => JSON.parse(l))
      .findLast((e) => e.msg === "admin: pumping block lifted");
    expect(line).toMatchObject({ prefix: `${range}*****`, wasBlocked: true });
    expect((await call("DELETE", "/admin/blocks/+91987")).status).toBe(400);
  });

  test("a safe-listed number is never blocked; invalid entries are 400", async () => {
    const prefix = "+919812345";
    for (let i = 0; i < 4; i++) await countSent(store, prefix, POLICY);
    await Bun.sleep(80);
    expect((await call("PUT", `/admin/safe-list/numbers/${prefix}678`)).status).toBe(200);
    expect((await judgePrefix(store, prefix, `${prefix}678`, POLICY)).state).toBe("clear");
    expect((await judgePrefix(store, prefix, `${prefix}679`, POLICY)).state).toBe("newly_blocked");
    expect((await call("PUT", "/admin/safe-list/numbers/+911123456789")).status).toBe(400); // a landline
    expect((await call("PUT", "/admin/safe-list/prefixes/919812")).status).toBe(400);
    expect((await call("PUT", `/admin/safe-list/prefixes/${encodeURIComponent(prefix)}`)).status).toBe(200);
    expect((await judgePrefix(store, prefix, `${prefix}679`, POLICY)).state).toBe("clear"); // safe wins over a block
    expect(capture.lines.join("\n")).not.toContain(`${prefix}678`); // the number only masked
  });

  test("clear a locked-out phone's windows", async () => {
    const phone = "+919800011122";
    const send = () =>
      fetch(`${base}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone }),
      });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(429);
    expect(await (await call("DELETE", `/admin/phones/${phone}/windows`)).json()).toEqual({ done: true });
    expect((await send()).status).toBe(200);
    const line = capture.lines
      .map((l) => JSON.parse(l))
      .find((e) => e.msg === "admin: phone windows cleared");
    expect(line).toMatchObject({ phone: "+91******1122" });
    // The request lines of the admin call and the sends, too, carry the number only masked.
    expect(capture.lines.join("\n")).not.toContain(phone.slice(1));
  });
});
