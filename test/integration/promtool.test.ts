import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp } from "../support/harness";

/** Prometheus's own checker (`promtool`, Debian's prometheus package) reads the /metrics page. */
const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

describe("GET /metrics", () => {
  test("passes promtool check metrics", async () => {
    const { logger } = captureLogger();
    const client = testApp(startMessaging(fake.url, logger), logger);
    await client.post("/v1/otp/send", { phone: "+919876502010" });
    const page = await (await client.get("/metrics")).text();
    const promtool = Bun.spawn(["promtool", "check", "metrics"], {
      stdin: new Blob([page]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, out, err] = await Promise.all([
      promtool.exited,
      new Response(promtool.stdout).text(),
      new Response(promtool.stderr).text(),
    ]);
    expect(code, `${out}\n${err}`).toBe(0);
  });
});
