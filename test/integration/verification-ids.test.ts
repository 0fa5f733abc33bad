import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { parseVerificationId } from "../../src/domain/ids";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";
import { captureLogger, startMessaging, testApp, testDeps } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";
import { listenApp } from "../support/socket";

/**
 * Verification ids the gateway issues (`<tag>.<upstream id>`), attacked over a real
 * socket on a real Redis: crafted ids get no 5xx, verify nothing and charge no
 * phone; an id re-tagged with another phone's tag is unknown; a right code
 * verifies once. (First written by an outside review of the id change.)
 */
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
let store: RedisStore;
let gw: ReturnType<typeof listenApp>;

beforeAll(async () => {
  await Promise.all([fake.start(), flushSharedRedis()]);
  store = new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 1_000, logger });
  expect(await store.connected(5_000)).toBe(true);
  gw = listenApp(
    testDeps(startMessaging(fake.url, logger, { retries: 0 }), logger, {
      store,
      env: { PHONE_VERIFY_LIMITS: "2/10m" },
      exposeVerifyReason: true,
    }),
  );
});
afterAll(async () => {
  gw.stop();
  await store.close();
  await fake.stop();
});

const post = (path: string, body: unknown) =>
  fetch(`${gw.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("crafted ids", () => {
  test("never get a 5xx, never verify, never charge the phone", async () => {
    const phone = "+919876598765";
    const res = await post("/v1/otp/send", { phone });
    const { verificationId: requestId } = (await res.json()) as { verificationId: string };
    const { tag, inner } = must(parseVerificationId(requestId), `an id of ours, not ${requestId}`);
    const otherId = (
      (await (await post("/v1/otp/send", { phone: "+919811198765" })).json()) as { verificationId: string }
    ).verificationId;
    const other = must(parseVerificationId(otherId), `an id of ours, not ${otherId}`);
    const crafted = [
      `${other.tag}.${inner}`, // the id under another phone's tag
      `${tag.toUpperCase()}.${inner}`,
      `${tag}.${inner}x`,
      `${tag}..${inner}`,
      `${tag}.test_${inner}`,
      `${tag}.`,
      `${tag}`,
      inner,
      `${tag}.${"a".repeat(128)}`,
      `${tag}.${"a".repeat(129)}`,
      `${tag}.}{x`,
      `${tag}.a}b`,
      "x".repeat(145),
      "x".repeat(146),
      `${tag}.${inner}\n`,
      "",
      42,
      null,
    ];
    for (const id of crafted) {
      const answer = await post("/v1/otp/verify", { verificationId: id, code: fake.codeFor(requestId) });
      expect(answer.status, `${JSON.stringify(id)}: ${await answer.clone().text()}`).toBeLessThan(500);
      if (answer.status === 200) expect(await answer.json()).toMatchObject({ verified: false });
    }
    // The phone's 2/10m is untouched: a wrong code, then the right one.
    expect(
      await (await post("/v1/otp/verify", { verificationId: requestId, code: "000000" })).json(),
    ).toMatchObject({
      verified: false,
      reason: "wrong_code",
    });
    expect(
      await (
        await post("/v1/otp/verify", { verificationId: requestId, code: fake.codeFor(requestId) })
      ).json(),
    ).toEqual({ verified: true });
    expect(
      await (
        await post("/v1/otp/verify", { verificationId: requestId, code: fake.codeFor(requestId) })
      ).json(),
    ).toMatchObject({
      verified: false,
    });
  });

  test("two verifies of one right code at once: exactly one succeeds", async () => {
    const res = await post("/v1/otp/send", { phone: "+919876598766" });
    const { verificationId: requestId } = (await res.json()) as { verificationId: string };
    const code = fake.codeFor(requestId);
    const answers = await Promise.all([
      post("/v1/otp/verify", { verificationId: requestId, code }),
      post("/v1/otp/verify", { verificationId: requestId, code }),
    ]);
    const verified = await Promise.all(
      answers.map(async (a) => ((await a.json()) as { verified: boolean }).verified),
    );
    expect(verified.filter(Boolean)).toHaveLength(1);
  });
});

describe("an upstream whose ids begin with test_ (a test number's begin _test_)", () => {
  const sandbox = new FakeStartMessaging({ idPrefix: "test_" });
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    await sandbox.start();
    app = testApp(startMessaging(sandbox.url, logger, { retries: 0 }), logger, {
      store,
      env: { PHONE_VERIFY_LIMITS: "1/10m" },
      exposeVerifyReason: true,
    });
  });
  afterAll(() => sandbox.stop());

  test("its codes verify", async () => {
    const res = await app.post("/v1/otp/send", { phone: "+919876512345" });
    expect(res.status, await res.clone().text()).toBe(200);
    const { verificationId: requestId } = (await res.json()) as { verificationId: string };
    expect(parseVerificationId(requestId)?.inner).toStartWith("test_");
    expect(
      await (
        await app.post("/v1/otp/verify", { verificationId: requestId, code: sandbox.codeFor(requestId) })
      ).json(),
    ).toEqual({
      verified: true,
    });
  });

  test("its phone's verify window is charged", async () => {
    const phone = "+919876512346";
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      ids.push(
        ((await (await app.post("/v1/otp/send", { phone })).json()) as { verificationId: string })
          .verificationId,
      );
    }
    expect((await app.post("/v1/otp/verify", { verificationId: ids[0], code: "000000" })).status).toBe(200);
    const second = await app.post("/v1/otp/verify", { verificationId: ids[1], code: "000000" });
    expect(second.status, await second.text()).toBe(429);
  });
});
