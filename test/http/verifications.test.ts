import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { problem } from "../support/harness";
import { socketGateway } from "../support/socket";

/** GET and DELETE /v1/otp/{verificationId}, over a real socket, against the fake upstream. */
const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const shortLived = new FakeStartMessaging({ ttlMs: 400 });
beforeAll(async () => {
  await Promise.all([fake.start(), shortLived.start()]);
});
afterAll(async () => {
  await Promise.all([fake.stop(), shortLived.stop()]);
});
beforeEach(() => fake.reset());

type Gateway = ReturnType<typeof socketGateway>;

const call = (gateway: Gateway, method: string, path: string, body?: unknown, key?: string) =>
  fetch(`${gateway.base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function send(gateway: Gateway, key?: string, phone = PHONE) {
  const res = await call(gateway, "POST", "/v1/otp/send", { phone }, key);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { verificationId: string; expiresAt: string; attemptsLeft: number };
}

async function status(gateway: Gateway, id: string, key?: string) {
  const res = await call(gateway, "GET", `/v1/otp/${id}`, undefined, key);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Record<string, unknown> & { delivery: { status: string; updatedAt: string } };
}

const verify = async (gateway: Gateway, verificationId: string, code: string) =>
  (await (await call(gateway, "POST", "/v1/otp/verify", { verificationId, code })).json()) as {
    verified: boolean;
  };

const wrongCode = (code: string) => (code === "000000" ? "111111" : "000000");

describe("a verification's status: GET /v1/otp/{verificationId}", () => {
  test("pending with its attempts, then verified: the send's expiry, the number masked, delivery unknown", async () => {
    const gateway = socketGateway(fake.url);
    try {
      const sent = await send(gateway);
      const before = Date.now();
      const pending = await status(gateway, sent.verificationId);
      expect(pending).toMatchObject({
        verificationId: sent.verificationId,
        status: "pending",
        expiresAt: sent.expiresAt,
        attemptsLeft: 3,
        phone: "+91******3210",
      });
      expect(pending.delivery.status).toBe("unknown");
      expect(Date.parse(pending.delivery.updatedAt)).toBeLessThanOrEqual(before);
      const code = fake.sentCode(sent.verificationId);
      expect((await verify(gateway, sent.verificationId, wrongCode(code))).verified).toBe(false);
      expect((await status(gateway, sent.verificationId)).attemptsLeft).toBe(2);
      expect((await verify(gateway, sent.verificationId, code)).verified).toBe(true);
      expect(await status(gateway, sent.verificationId)).toMatchObject({
        status: "verified",
        attemptsLeft: 0,
      });
      const lines = gateway.lines().filter((line) => line.method === "GET" && line.msg === "request");
      expect(lines.map((line) => line.outcome)).toEqual(["pending", "pending", "verified"]);
      expect(lines.every((line) => line.verificationId === sent.verificationId)).toBe(true);
      expect(JSON.stringify(gateway.capture.lines)).not.toContain(PHONE);
      expect(await gateway.page()).toContain('route="/v1/otp/{verificationId}"');
    } finally {
      gateway.stop();
    }
  });

  test("failed once every attempt is spent on wrong codes; expired once its code's time is up", async () => {
    const gateway = socketGateway(fake.url);
    const quick = socketGateway(shortLived.url);
    try {
      const sent = await send(gateway);
      const wrong = wrongCode(fake.sentCode(sent.verificationId));
      for (let i = 0; i < 3; i++) await verify(gateway, sent.verificationId, wrong);
      expect(await status(gateway, sent.verificationId)).toMatchObject({ status: "failed", attemptsLeft: 0 });

      const brief = await send(quick);
      expect((await status(quick, brief.verificationId)).status).toBe("pending");
      await Bun.sleep(500);
      expect(await status(quick, brief.verificationId)).toMatchObject({ status: "expired", attemptsLeft: 0 });
      // The right code, too late: refused here, the upstream not asked.
      const asked = shortLived.calls("/otp/verify").length;
      expect(
        (await verify(quick, brief.verificationId, shortLived.sentCode(brief.verificationId))).verified,
      ).toBe(false);
      expect(shortLived.calls("/otp/verify")).toHaveLength(asked);
    } finally {
      gateway.stop();
      quick.stop();
    }
  });

  test("an id never issued is 404; a malformed one is 400; neither reaches the store's secrets", async () => {
    const gateway = socketGateway(fake.url);
    try {
      await problem(
        await call(gateway, "GET", "/v1/otp/3f9a1c0e5b7d2a46.otp_nope"),
        404,
        "VERIFICATION_NOT_FOUND",
      );
      await problem(await call(gateway, "GET", "/v1/otp/not-ours"), 404, "VERIFICATION_NOT_FOUND");
      await problem(await call(gateway, "GET", `/v1/otp/${"a".repeat(200)}`), 400, "INVALID_REQUEST");
      await problem(await call(gateway, "GET", "/v1/otp/bad%20id"), 400, "INVALID_REQUEST");
      await problem(
        await call(gateway, "DELETE", "/v1/otp/3f9a1c0e5b7d2a46.otp_nope"),
        404,
        "VERIFICATION_NOT_FOUND",
      );
      // An id the store does not know is the caller's text: logged with its digits masked, a number too.
      for (const bogus of ["919811112222", "3f9a1c0e5b7d2a46.919811112222"]) {
        await call(gateway, "GET", `/v1/otp/${bogus}`);
        await call(gateway, "DELETE", `/v1/otp/${bogus}`);
        await verify(gateway, bogus, "123456");
      }
      expect(gateway.capture.lines.filter((line) => line.includes("919811112222"))).toEqual([]);
      const requests = gateway.lines().filter((line) => line.msg === "request");
      expect(requests.filter((line) => String(line.verificationId ?? "").endsWith("*2222"))).toHaveLength(6);
      // The static routes beside it are not ids: another method on them is 405, as before.
      const wrongMethod = await problem(
        await call(gateway, "DELETE", "/v1/otp/verify"),
        405,
        "METHOD_NOT_ALLOWED",
      );
      expect(wrongMethod.detail).toContain("POST");
    } finally {
      gateway.stop();
    }
  });
});

describe("cancel: DELETE /v1/otp/{verificationId}", () => {
  test("204, then the right code does not verify and the upstream is not asked; a second cancel is 409", async () => {
    const gateway = socketGateway(fake.url);
    try {
      const sent = await send(gateway);
      const res = await call(gateway, "DELETE", `/v1/otp/${sent.verificationId}`);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      expect((await verify(gateway, sent.verificationId, fake.sentCode(sent.verificationId))).verified).toBe(
        false,
      );
      expect(fake.calls("/otp/verify")).toHaveLength(0);
      expect(await status(gateway, sent.verificationId)).toMatchObject({
        status: "canceled",
        attemptsLeft: 0,
      });
      const again = await problem(
        await call(gateway, "DELETE", `/v1/otp/${sent.verificationId}`),
        409,
        "VERIFICATION_ENDED",
      );
      expect(again.detail).toContain("canceled");
      // A verified one has ended too.
      const other = await send(gateway, undefined, "+919876543211");
      expect(
        (await verify(gateway, other.verificationId, fake.sentCode(other.verificationId))).verified,
      ).toBe(true);
      await problem(
        await call(gateway, "DELETE", `/v1/otp/${other.verificationId}`),
        409,
        "VERIFICATION_ENDED",
      );
    } finally {
      gateway.stop();
    }
  });

  test("cancel gives nothing back: the phone's send window still counts the send", async () => {
    const gateway = socketGateway(fake.url, { PHONE_SEND_LIMITS: "1/1h" });
    try {
      const sent = await send(gateway);
      expect((await call(gateway, "DELETE", `/v1/otp/${sent.verificationId}`)).status).toBe(204);
      await problem(await call(gateway, "POST", "/v1/otp/send", { phone: PHONE }), 429, "RATE_LIMITED");
      expect(fake.calls("/otp/send")).toHaveLength(1);
    } finally {
      gateway.stop();
    }
  });
});

describe("with GATEWAY_API_KEYS, a caller sees and cancels only its own verifications", () => {
  const keys = { GATEWAY_API_KEYS: "key-one-0123456789,key-two-0123456789" };

  test("another caller's id is 404 for GET and DELETE, as an unknown one; no key is 401", async () => {
    const gateway = socketGateway(fake.url, keys);
    try {
      const sent = await send(gateway, "key-one-0123456789");
      const path = `/v1/otp/${sent.verificationId}`;
      await problem(await call(gateway, "GET", path), 401, "UNAUTHORIZED");
      await problem(await call(gateway, "DELETE", path), 401, "UNAUTHORIZED");
      await problem(await call(gateway, "GET", path.replace("/v1/", "/%76%31/")), 401, "UNAUTHORIZED");
      await problem(
        await call(gateway, "GET", path, undefined, "key-two-0123456789"),
        404,
        "VERIFICATION_NOT_FOUND",
      );
      await problem(
        await call(gateway, "DELETE", path, undefined, "key-two-0123456789"),
        404,
        "VERIFICATION_NOT_FOUND",
      );
      expect((await status(gateway, sent.verificationId, "key-one-0123456789")).status).toBe("pending");
      // Nor may it verify it: the right code from caller two is not verified, and spends none of caller one's attempts.
      const code = fake.sentCode(sent.verificationId);
      for (let i = 0; i < 4; i++) {
        const res = await call(
          gateway,
          "POST",
          "/v1/otp/verify",
          { verificationId: sent.verificationId, code },
          "key-two-0123456789",
        );
        expect(await res.json()).toEqual({ verified: false });
      }
      expect(fake.calls("/otp/verify")).toHaveLength(0);
      expect((await status(gateway, sent.verificationId, "key-one-0123456789")).attemptsLeft).toBe(3);
      // Its own caller verifies it, with its key.
      const own = await send(gateway, "key-one-0123456789", "+919876543212");
      const mine = await call(
        gateway,
        "POST",
        "/v1/otp/verify",
        { verificationId: own.verificationId, code: fake.sentCode(own.verificationId) },
        "key-one-0123456789",
      );
      expect(await mine.json()).toEqual({ verified: true });
      expect((await call(gateway, "DELETE", path, undefined, "key-one-0123456789")).status).toBe(204);
      expect((await status(gateway, sent.verificationId, "key-one-0123456789")).status).toBe("canceled");
      // The health probes and the docs still need no key.
      expect((await call(gateway, "GET", "/healthz")).status).toBe(200);
      expect((await call(gateway, "GET", "/swagger/json")).status).toBe(200);
    } finally {
      gateway.stop();
    }
  });
});
