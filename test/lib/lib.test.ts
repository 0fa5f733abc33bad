import { describe, expect, test } from "bun:test";
import diagnostics from "node:diagnostics_channel";
import packageMetadata from "libphonenumber-js/metadata.max.json";
import { defineTracingHasSubscribers } from "../../src/adapters/store/redis/tracing-channel";
import { maskPhone } from "../../src/domain/mask";
import { generateCode } from "../../src/domain/otp-code";
import { metadataOfModule } from "../../src/domain/phone";
import { formatDuration, parseDuration } from "../../src/lib/duration";
import { requireMobile } from "../../src/modules/otp/phone";
import { defaultPumpingPolicy } from "../support/harness";

describe("durations", () => {
  test("read like 500ms, 30s, 10m, 24h, 1d", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    for (const bad of ["", "10", "s", "1.5s", "-1s", "10 sec", "1e3ms", "10S"]) expect(parseDuration(bad)).toBeUndefined();
    expect(formatDuration(600_000)).toBe("10m");
    expect(formatDuration(1_500)).toBe("1500ms");
  });
});

describe("masking", () => {
  test("keeps the country code and last four digits", () => {
    expect(maskPhone("+919876543210")).toBe("+91******3210");
    expect(maskPhone("+14155552671", "1")).toBe("+1******2671");
    expect(maskPhone("not a phone 9876543210")).toBe("[redacted]");
    // Short national numbers keep most digits hidden.
    expect(maskPhone("+6907290", "690")).toBe("+690****");
    expect(maskPhone("+2908999", "290")).toBe("+290****");
    expect(maskPhone("+35312345678", "353")).toBe("+353******78");
  });
});

describe("codes", () => {
  test("have the asked length and use every digit about equally", () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2_000; i++) {
      const code = generateCode(8);
      expect(code).toMatch(/^[0-9]{8}$/);
      for (const ch of code) counts[Number(ch)]++;
    }
    // 16000 digits: each expected 1600; a biased generator (byte % 10) skews 0-5 by ~+2.5%.
    for (const c of counts) expect(Math.abs(c - 1600)).toBeLessThan(200);
  });
});

describe("phone numbers", () => {
  test("accept mobiles and refuse landlines and invalid numbers", () => {
    expect(requireMobile("+919876543210")).toEqual({ e164: "+919876543210", country: "IN", callingCode: "91" });
    expect(requireMobile("+14155552671").country).toBe("US"); // fixed-line-or-mobile plan
    // A valid Delhi landline, and a number no plan allows: both refused, each with its own reason.
    expect(() => requireMobile("+911123456789")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a mobile") }),
    );
    expect(() => requireMobile("+999123456789")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a valid") }),
    );
    expect(() => requireMobile("+9198765")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a valid") }),
    );
  });

  test("the metadata read from the embedded module text is the package's own, whole", async () => {
    // The text phone.ts embeds: the same path, resolved the same way (to the package's ES module).
    const text = await Bun.file(Bun.resolveSync("libphonenumber-js/metadata.max.json", import.meta.dir)).text();
    const metadata = metadataOfModule(text);
    expect(metadata).toEqual(packageMetadata);
    expect(Object.keys(metadata.countries).length).toBeGreaterThan(200);
    expect(() => metadataOfModule("module.exports = {}")).toThrow("no default export");
  });
});

describe("upstream expiry", () => {
  test("reads ISO, epoch ms and epoch seconds, and refuses past or far-future dates", async () => {
    const { readExpiresAt } = await import("../../src/adapters/sms/startmessaging-response");
    const now = Date.parse("2026-11-25T10:00:00Z");
    const at = (expiresAt: unknown) => readExpiresAt({ data: { expiresAt } }, now)?.toISOString();
    expect(at("2026-11-25T10:05:00Z")).toBe("2026-11-25T10:05:00.000Z");
    expect(at(now + 300_000)).toBe("2026-11-25T10:05:00.000Z");
    expect(at((now + 300_000) / 1000)).toBe("2026-11-25T10:05:00.000Z");
    expect(at("2026-11-25T09:00:00Z")).toBeUndefined();
    expect(at(8.64e15)).toBeUndefined();
    expect(at("soon")).toBeUndefined();
  });
});

describe("sliding windows", () => {
  test("a fractional clock does not round a full minute up to 61 seconds", async () => {
    const { decide, parseLimits } = await import("../../src/domain/rate-window");
    const windows = parseLimits("1/1m,3/10m")!;
    for (const now of [1234.5678, 98765.4321, 0.1 + 0.2]) {
      expect(decide([], now, windows)).toMatchObject({ allowed: true, nextAllowedSeconds: 60, resetSeconds: 60 });
      expect(decide([now], now + 0.3, windows)).toMatchObject({ allowed: false, retryAfterSeconds: 60 });
    }
  });
});

describe("problem answers", () => {
  test("the body is the problem's JSON, whether made from a per-code prefix or in full", async () => {
    const { ERROR_CODES } = await import("../../src/errors");
    const { problemFor, problemResponse } = await import("../../src/http/problem");
    const problems = ERROR_CODES.flatMap((code) => [
      problemFor(code, "req-1"),
      problemFor(code, "A.b:c-9_0"),
      problemFor(code, "req-2", { detail: "Something specific." }),
      problemFor(code, "req-3", { errors: [{ pointer: "/phone", detail: "is not valid" }] }),
    ]);
    for (const problem of problems) {
      const res = problemResponse(problem, { "retry-after": "5" });
      expect(await res.json()).toEqual(problem);
      expect(res.status).toBe(problem.status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("x-request-id")).toBe(problem.requestId);
      expect(res.headers.get("retry-after")).toBe("5");
    }
  });
});

describe("country watch", () => {
  test("a country whose judged sends convert under half is under attack: its blocks need a quarter of the sends", async () => {
    const { CountryWatch } = await import("../../src/domain/pumping");
    let now = 1_000_000;
    const policy = defaultPumpingPolicy(); // 20 judged sends, 1-minute buckets, 5-minute codes
    const watch = new CountryWatch(policy, () => now);
    for (let i = 0; i < 100; i++) watch.count("IN", "sent");
    for (let i = 0; i < 60; i++) watch.count("IN", "verified");
    for (let i = 0; i < 100; i++) watch.count("AE", "sent");
    for (let i = 0; i < 10; i++) watch.count("AE", "verified");
    expect(watch.policyFor("AE").minSends).toBe(20); // fresh sends are not judged yet
    now += 7 * 60_000;
    expect(watch.policyFor("IN").minSends).toBe(20); // 60 % verified: normal
    expect(watch.policyFor("AE").minSends).toBe(5); // 10 %: under attack
    now += 20 * 60_000;
    expect(watch.policyFor("AE").minSends).toBe(20); // only recent sends count: the attack is over
    expect(watch.policyFor("US")).toBe(policy); // nothing seen
  });
});

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
