import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { EnvSchema } from "../../src/config/schema";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, problem, startMessaging, TEST_PEER_HEADER, testApp } from "../support/harness";
import { socketGateway } from "../support/socket";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}) => testApp(startMessaging(fake.url, logger), logger, { env });
const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

let phones = 0;
const nextPhone = () => `+9198${String(20_000_000 + phones++).padStart(8, "0")}`;

describe("verify protection", () => {
  async function issue(client: ReturnType<typeof app>, phone = PHONE): Promise<string> {
    const res = await client.post("/v1/otp/send", { phone });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { verificationId: string }).verificationId;
  }

  test("after OTP_MAX_ATTEMPTS tries the id is dead, whatever the upstream would say", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger, {
        env: { OTP_MAX_ATTEMPTS: "3" },
        exposeVerifyReason: true,
      });
      const id = await issue(client);
      const code = reusable.sentCode(id);
      const wrong = code === "000000" ? "111111" : "000000";
      for (let i = 0; i < 3; i++) {
        expect(
          await (await client.post("/v1/otp/verify", { verificationId: id, code: wrong })).json(),
        ).toEqual({
          verified: false,
          reason: "wrong_code",
        });
      }
      expect(await (await client.post("/v1/otp/verify", { verificationId: id, code })).json()).toEqual({
        verified: false,
        reason: "exhausted",
      });
      expect(reusable.calls("/otp/verify")).toHaveLength(3);
    } finally {
      await reusable.stop();
    }
  });

  test("two concurrent verifies of one right code: exactly one true, even if the upstream says yes twice", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger);
      const id = await issue(client);
      const code = reusable.sentCode(id);
      let release!: () => void;
      const barrier = new Promise<void>((r) => (release = r));
      const racers = [0, 1].map(() =>
        barrier.then(() => client.post("/v1/otp/verify", { verificationId: id, code })),
      );
      release();
      const answers = await Promise.all(
        racers.map(async (r) => ((await (await r).json()) as { verified: boolean }).verified),
      );
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(await (await client.post("/v1/otp/verify", { verificationId: id, code })).json()).toEqual({
        verified: false,
      });
    } finally {
      await reusable.stop();
    }
  });

  test("per-phone verify windows answer 429 across request ids", async () => {
    const client = app({ PHONE_VERIFY_LIMITS: "2/10m" });
    const ids = [await issue(client, "+919812345611"), await issue(client, "+919812345611")];
    expect((await client.post("/v1/otp/verify", { verificationId: ids[0], code: "123456" })).status).toBe(
      200,
    );
    expect((await client.post("/v1/otp/verify", { verificationId: ids[1], code: "123456" })).status).toBe(
      200,
    );
    const third = await client.post("/v1/otp/verify", { verificationId: ids[1], code: "123456" });
    await problem(third, 429, "RATE_LIMITED");
    expect(third.headers.get("ratelimit-policy")).toBe('"verify-10m";q=2;w=600');
  });

  test("per-IP verify windows are separate from send windows", async () => {
    const client = app({ IP_VERIFY_LIMITS: "2/1m", IP_SEND_LIMITS: "100/1m" });
    const verify = () =>
      client.post(
        "/v1/otp/verify",
        { verificationId: "otp_x", code: "123456" },
        { [TEST_PEER_HEADER]: "192.0.2.77" },
      );
    expect((await verify()).status).toBe(200);
    expect((await verify()).status).toBe(200);
    await problem(await verify(), 429, "RATE_LIMITED");
    expect(
      (await client.post("/v1/otp/send", { phone: "+919812345612" }, { [TEST_PEER_HEADER]: "192.0.2.77" }))
        .status,
    ).toBe(200);
  });
});

describe("the phone's verify window", () => {
  test("junk verifies of a spent or exhausted id do not lock the phone's owner out", async () => {
    const { base, stop } = gateway({ PHONE_VERIFY_LIMITS: EnvSchema.properties.PHONE_VERIFY_LIMITS.default });
    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    try {
      const phone = nextPhone();
      // The attacker sends one code to the victim and burns its id with junk, many times over.
      const burnt = (await call("/v1/otp/send", { phone })).body.verificationId as string;
      const answers = [];
      for (let i = 0; i < 25; i++) {
        answers.push(await call("/v1/otp/verify", { verificationId: burnt, code: "000000" }));
      }
      expect(answers.every((a) => a.status === 200 && a.body.verified === false)).toBe(true);
      // Only the attempts the upstream saw (3) were charged: the owner's fresh code still verifies.
      const fresh = (await call("/v1/otp/send", { phone })).body.verificationId as string;
      const right = await call("/v1/otp/verify", { verificationId: fresh, code: fake.sentCode(fresh) });
      expect(right).toEqual({ status: 200, body: { verified: true } });
      // A spent id now answers as an unknown one does, however often it is tried.
      const spent = [];
      for (let i = 0; i < 15; i++) {
        spent.push(await call("/v1/otp/verify", { verificationId: fresh, code: "000000" }));
      }
      const unknown = [];
      for (let i = 0; i < 15; i++) {
        unknown.push(await call("/v1/otp/verify", { verificationId: `${fresh}x`, code: "000000" }));
      }
      expect(spent).toEqual(unknown);
    } finally {
      await stop();
    }
  });
});
