import { describe, expect, test } from "bun:test";
import diagnostics from "node:diagnostics_channel";
import { defineTracingHasSubscribers } from "../../../../src/adapters/store/redis/tracing-channel";

describe("ioredis tracing under Bun", () => {
  test("a tracing channel says whether anyone listens, so ioredis traces a command only for a listener", () => {
    defineTracingHasSubscribers();
    const channel = diagnostics.tracingChannel("otp-gateway:test") as unknown as { hasSubscribers: boolean };
    expect(channel.hasSubscribers).toBe(false);
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    diagnostics.tracingChannel("otp-gateway:test").subscribe(handlers);
    expect(channel.hasSubscribers).toBe(true);
    diagnostics.tracingChannel("otp-gateway:test").unsubscribe(handlers);
    expect(channel.hasSubscribers).toBe(false);
  });
});
