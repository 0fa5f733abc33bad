import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { OtpStore } from "../../src/adapters/store/port";
import { FakeStartMessaging } from "./fake-startmessaging";
import { must } from "./given";
import { captureLogger, startMessaging, testDeps } from "./harness";
import { listenApp } from "./socket";

/**
 * HTTP/1.1 pipelining: requests written one after another on a connection before
 * the first is answered. Bun closes such a connection when a request arrives
 * while an answer is still being made (its handlers are async), so the client
 * gets no answer at all. The gateway then must not have sent the SMS: a client
 * that never learns its verification id sends again.
 */

let phones = 0;
export const nextPhone = () => `+9198${String(30_000_000 + phones++).padStart(8, "0")}`;

export const sendHead = (phone: string, extra = "") => {
  const body = JSON.stringify({ phone });
  return `POST /v1/otp/send HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
};

/** Writes `payload` in one write and reads until the server closes (or 3 s): the statuses answered. */
export async function writeAtOnce(port: number, payload: string, keepOpenMs = 3_000): Promise<number[]> {
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, keepOpenMs);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (socket) => void socket.write(payload),
        data: (_socket, data) => void chunks.push(Buffer.from(data)),
        close: () => {
          clearTimeout(timer);
          resolve();
        },
        error: (_socket, err) => reject(err),
      },
    }).catch(reject);
  });
  return [
    ...Buffer.concat(chunks)
      .toString("latin1")
      .matchAll(/HTTP\/1\.1 (\d{3}) /g),
  ].map((m) => Number(m[1]));
}

/** The gateway on a real socket over `store`, sending through the fake upstream at `upstreamUrl`. */
export function pipelineGateway(upstreamUrl: string, store: OtpStore) {
  const capture = captureLogger();
  const deps = testDeps(startMessaging(upstreamUrl, capture.logger), capture.logger, {
    env: { ALLOWED_COUNTRIES: "IN", PHONE_SEND_LIMITS: "1/1m" },
    store,
  });
  return listenApp(deps);
}

/** The pipelining tests, run against the memory store (test/http) and Redis (test/integration). */
export function pipelinedSends(name: string, makeStore: () => Promise<OtpStore>) {
  describe(`pipelined sends, ${name}`, () => {
    const fake = new FakeStartMessaging();
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());
    const gateway = (store: OtpStore) => pipelineGateway(fake.url, store);

    test("two sends written at once: every 200 the client reads is one SMS, and no SMS goes out unanswered", async () => {
      const store = await makeStore();
      const gw = gateway(store);
      try {
        const answered: number[] = [];
        const first: string[] = [];
        for (let i = 0; i < 8; i++) {
          const phone = nextPhone();
          first.push(phone);
          answered.push(...(await writeAtOnce(gw.port, sendHead(phone) + sendHead(nextPhone()))));
        }
        await Bun.sleep(200); // an SMS a closed handler might still send
        expect(fake.sms.length).toBe(answered.filter((s) => s === 200).length);
        // Nothing of a dropped send was counted: its phone (1/1m) sends at once.
        const again = await writeAtOnce(
          gw.port,
          sendHead(must(first[0], "a first phone"), "Connection: close\r\n"),
        );
        expect(again).toEqual([200]);
      } finally {
        await gw.stop();
        await store.close();
      }
    });

    test("a send followed by a GET written at once: the same, whatever comes second", async () => {
      const store = await makeStore();
      const gw = gateway(store);
      try {
        const answered = await writeAtOnce(
          gw.port,
          `${sendHead(nextPhone())}GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n`,
        );
        await Bun.sleep(200);
        // The send's answer comes first: one SMS if the client read it, none if not.
        expect(fake.sms.length).toBe(answered[0] === 200 ? 1 : 0);
      } finally {
        await gw.stop();
        await store.close();
      }
    });
  });
}
