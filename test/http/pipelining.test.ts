import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import type { OtpStore } from "../../src/adapters/store/port";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { nextPhone, pipelinedSends, pipelineGateway, sendHead } from "../support/pipelining";

/** HTTP/1.1 pipelining on the memory store (Redis: test/integration/pipelining.test.ts). */
pipelinedSends("the memory store", async () => new MemoryStore());

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());
const gateway = (store: OtpStore) => pipelineGateway(fake.url, store);

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
