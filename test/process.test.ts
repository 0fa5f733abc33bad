import { afterAll, describe, expect, test } from "bun:test";
import { freePort, waitHealthy } from "../scripts/lib/local";
import { FakeStartMessaging } from "./support/fake-startmessaging";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function run(env: Record<string, string>) {
  return Bun.spawn(["bun", MAIN], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("the gateway process", () => {
  const fake = new FakeStartMessaging();
  afterAll(() => fake.stop());

  test("a bad configuration exits non-zero and names the variable", async () => {
    const proc = run({ UPSTREAM_TIMEOUT: "soon", PORT: "3000" });
    expect(await proc.exited).not.toBe(0);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain("UPSTREAM_TIMEOUT");
    expect(stderr).toContain("duration");
  });

  test("starts on the environment, sends through StartMessaging, and stops cleanly on SIGTERM", async () => {
    await fake.start();
    const port = await freePort();
    const proc = run({
      PORT: String(port),
      HOST: "127.0.0.1",
      STARTMESSAGING_API_KEY: "sm_test_fake_key",
      STARTMESSAGING_BASE_URL: fake.url,
    });
    try {
      await waitHealthy(port);
      const res = await fetch(`http://127.0.0.1:${port}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"phone":"+919876543210"}',
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(fake.sms).toHaveLength(1);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
    const stdout = await new Response(proc.stdout).text();
    expect(stdout).toContain('"provider":"startmessaging"');
    expect(stdout).not.toContain("sm_test_fake_key");
    expect(stdout).not.toContain("+919876543210");
  });
});
