import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import type { OtpStore } from "../../src/adapters/store/port";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { createLogger } from "../../src/observability/logger";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";
import { listenApp } from "../support/socket";

/**
 * HTTP/1.1 pipelining: requests written one after another on a connection before
 * the first is answered. Bun closes such a connection when a request arrives
 * while an answer is still being made (its handlers are async), so the client
 * gets no answer at all. The gateway then must not have sent the SMS: a client
 * that never learns its verification id sends again.
 */
const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

let phones = 0;
const nextPhone = () => `+9198${String(30_000_000 + phones++).padStart(8, "0")}`;

const sendHead = (phone: string, extra = "") => {
  const body = JSON.stringify({ phone });
  return `POST /v1/otp/send HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
};

/** Writes `payload` in one write and reads until the server closes (or 3 s): the statuses answered. */
async function writeAtOnce(port: number, payload: string, keepOpenMs = 3_000): Promise<number[]> {
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

function gateway(store: OtpStore) {
  const capture = captureLogger();
  const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, {
    env: { ALLOWED_COUNTRIES: "IN", PHONE_SEND_LIMITS: "1/1m" },
    store,
  });
  return listenApp(deps);
}

const stores: [string, () => Promise<OtpStore>][] = [
  ["the memory store", async () => new MemoryStore()],
  [
    "Redis",
    async () => {
      await flushSharedRedis();
      const store = new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 500, logger: createLogger({ level: "silent" }) });
      expect(await store.connected(5_000)).toBe(true);
      return store;
    },
  ],
];

for (const [name, makeStore] of stores) {
  describe(`pipelined sends, ${name}`, () => {
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
        const again = await writeAtOnce(gw.port, sendHead(first[0]!, "Connection: close\r\n"));
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
        const answered = await writeAtOnce(gw.port, `${sendHead(nextPhone())}GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n`);
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

describe("a connection that closes while the upstream is called", () => {
  test("the SMS went out (it cannot be called back): its request line says the answer was lost", async () => {
    const capture = captureLogger();
    const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, { env: { ALLOWED_COUNTRIES: "IN" } });
    const gw = listenApp(deps);
    try {
      fake.fail("/otp/send", { kind: "delay", ms: 150 });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        Bun.connect({
          hostname: "127.0.0.1",
          port: gw.port,
          socket: {
            open(socket) {
              socket.write(sendHead(nextPhone()));
              // A second request while the first waits on the upstream: Bun closes the connection.
              setTimeout(() => socket.write("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n"), 50);
            },
            data: (_socket, data) => void chunks.push(Buffer.from(data)),
            close: () => resolve(),
            error: (_socket, err) => reject(err),
          },
        }).catch(reject);
      });
      await Bun.sleep(250);
      expect(Buffer.concat(chunks).length).toBe(0);
      expect(fake.sms).toHaveLength(1);
      const line = capture.lines.map((l) => JSON.parse(l)).find((e) => e.msg === "request" && e.path === "/v1/otp/send");
      expect(line).toMatchObject({ status: 200, clientGone: true });
    } finally {
      await gw.stop();
    }
  });
});

describe("requests one at a time on a keep-alive connection", () => {
  test("are each answered and each sent", async () => {
    const gw = gateway(new MemoryStore());
    try {
      const statuses: number[] = [];
      const phones = [nextPhone(), nextPhone(), nextPhone()];
      const chunks: string[] = [];
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        Bun.connect({
          hostname: "127.0.0.1",
          port: gw.port,
          socket: {
            open(socket) {
              socket.write(sendHead(phones[next++]!));
            },
            data(socket, data) {
              chunks.push(Buffer.from(data).toString("latin1"));
              const seen = [...chunks.join("").matchAll(/HTTP\/1\.1 (\d{3}) /g)].length;
              if (seen < next) return;
              if (next < phones.length)
                socket.write(sendHead(phones[next++]!, next === phones.length ? "Connection: close\r\n" : ""));
            },
            close: () => resolve(),
            error: (_socket, err) => reject(err),
          },
        }).catch(reject);
      });
      statuses.push(...[...chunks.join("").matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])));
      expect(statuses).toEqual([200, 200, 200]);
      expect(fake.sms.map((s) => s.phone)).toEqual(phones);
    } finally {
      await gw.stop();
    }
  });
});
