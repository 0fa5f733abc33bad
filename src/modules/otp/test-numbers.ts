import { timingSafeEqual } from "node:crypto";
import type { SendOtpResult } from "../../adapters/sms/port";
import type { TestNumber } from "../../domain/test-numbers";

/** How a test number's verification ids begin (after their tag): never an upstream's, which begin with a letter or digit (UPSTREAM_ID_RE). */
export const TEST_ID_PREFIX = "_test_";

/**
 * Test numbers (TEST_PHONES), for app-store review, QA and CI: a send to one
 * reaches no upstream and uses no budget or phone window; its code is the fixed
 * one, checked here (the attempt cap still applies). Past its last day a number
 * is an ordinary one again.
 */
export class TestNumbers {
  constructor(
    private readonly phones: ReadonlyMap<string, TestNumber>,
    private readonly policy: { ttlMs: number; maxAttempts: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** The number's entry while it is a test number. */
  active(phone: string): TestNumber | undefined {
    const entry = this.phones.get(phone);
    return entry && (entry.until === undefined || this.now() <= entry.until) ? entry : undefined;
  }

  /** What a send to a test number answers: an id of the gateway's own (never the upstream's). */
  send(): SendOtpResult {
    return {
      requestId: `${TEST_ID_PREFIX}${crypto.randomUUID().replaceAll("-", "")}`,
      expiresAt: new Date(this.now() + this.policy.ttlMs),
      attemptsLeft: this.policy.maxAttempts,
    };
  }

  /** Whether `code` is the number's fixed code, compared in constant time. */
  matches(entry: TestNumber, code: string): boolean {
    const a = Buffer.from(code.padEnd(8, " "));
    const b = Buffer.from(entry.code.padEnd(8, " "));
    return a.length === b.length && timingSafeEqual(a, b) && code.length === entry.code.length;
  }
}
