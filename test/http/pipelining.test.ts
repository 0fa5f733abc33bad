import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import type { OtpStore } from "../../src/adapters/store/port";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { nextPhone, pipelinedSends, pipelineGateway, sendHead } from "../support/pipelining";
import { listenApp } from "../support/socket";

/** HTTP/1.1 pipelining on the memory store (Redis: test/integration/pipelining.test.ts). */
pipelinedSends("the memory store", async () => new MemoryStore());

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());
const gateway = (store: OtpStore) => pipelineGateway(fake.url, store);

describe("a connection that closes while the upstream is called", () => {
  test("the SMS went out (it cannot be called back): its request line says the answer was lost", async () => {
    const capture = captureLogger();
    const deps = testDeps(startMessaging(fake.url, capture.logger), capture.logger, {
      env: { ALLOWED_COUNTRIES: "IN" },
    });
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
      const line = capture.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.msg === "request" && e.path === "/v1/otp/send");
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
      const phoneAt = (i: number) => must(phones[i], `phone ${i + 1} of ${phones.length}`);
      const chunks: string[] = [];
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        Bun.connect({
          hostname: "127.0.0.1",
          port: gw.port,
          socket: {
            open(socket) {
              socket.write(sendHead(phoneAt(next++)));
            },
            data(socket, data) {
              chunks.push(Buffer.from(data).toString("latin1"));
              const seen = [...chunks.join("").matchAll(/HTTP\/1\.1 (\d{3}) /g)].length;
              if (seen < next) return;
              if (next < phones.length) {
                socket.write(
                  sendHead(phoneAt(next++), next === phones.length ? "Connection: close\r\n" : ""),
                );
              }
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
