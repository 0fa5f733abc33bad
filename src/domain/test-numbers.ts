import { splitList } from "../lib/split-list";
import { parseMobile } from "./phone";

/** A number that never reaches the upstream: it verifies only with its fixed code (TEST_PHONES). */
export interface TestNumber {
  code: string;
  /** Ms since the epoch after which it is an ordinary number again; undefined: never. */
  until?: number;
}

const ENTRY = /^(\+[1-9][0-9]{6,14}):([0-9]{4,8})(?::([0-9]{4}-[0-9]{2}-[0-9]{2}))?$/;

/**
 * TEST_PHONES: `+919999999999:123456` entries, comma-separated, each with an
 * optional last day (`+919999999999:123456:2027-01-31`, through the end of that
 * day, UTC). Returns them by number, or what is wrong (never echoing a code).
 * A number that is a mobile is kept as the gateway writes it (`+9109999999999`
 * is `+919999999999`), so that a send finds it however either is spelled.
 */
export function parseTestNumbers(text: string): Map<string, TestNumber> | string {
  const phones = new Map<string, TestNumber>();
  const entries = splitList(text);
  for (const [i, entry] of entries.entries()) {
    const match = ENTRY.exec(entry);
    if (!match) return `entry ${i + 1}: +E164:code (4 to 8 digits), optionally :YYYY-MM-DD`;
    const [, listed, code, day] = match as unknown as [string, string, string, string | undefined];
    const parsed = parseMobile(listed);
    const phone = parsed.ok ? parsed.mobile.e164 : listed;
    const until = day ? Date.parse(`${day}T23:59:59.999Z`) : undefined;
    if (until !== undefined && Number.isNaN(until)) return `entry ${i + 1}: a real date (YYYY-MM-DD)`;
    if (phones.has(phone)) return `entry ${i + 1}: that number is listed twice`;
    phones.set(phone, until === undefined ? { code } : { code, until });
  }
  return phones;
}
