import { parsePhoneNumberFromString } from "libphonenumber-js/max";

/** Strict E.164: `+`, a country code, up to 15 digits in all. Checked by the schema before this. */
export const E164_PATTERN = "^\\+[1-9][0-9]{6,14}$";

export interface MobileNumber {
  /** E.164, e.g. `+919876543210`. */
  e164: string;
  /** ISO 3166-1 alpha-2, e.g. `IN`; undefined for non-geographic numbers. */
  country?: string;
  /** e.g. `91`. */
  callingCode: string;
}

/** Why a number is refused: not a valid number at all, or valid but unable to receive SMS. */
export type PhoneRefusal = "invalid" | "not_mobile";

export type ParsedMobile = { ok: true; mobile: MobileNumber } | { ok: false; refusal: PhoneRefusal };

/**
 * Validates a number with libphonenumber's full metadata and keeps only numbers
 * that can receive an SMS (mobile, or a plan where mobile and fixed line cannot
 * be told apart, as in the US). Refused before any money is spent.
 */
export function parseMobile(input: string): ParsedMobile {
  const parsed = parsePhoneNumberFromString(input);
  // getType() matches the number against each type's pattern, which is also what
  // isValid() does with full metadata: so the common, valid case runs it once.
  const type = parsed?.getType();
  if (!parsed || (type !== "MOBILE" && type !== "FIXED_LINE_OR_MOBILE")) {
    return { ok: false, refusal: parsed?.isValid() ? "not_mobile" : "invalid" };
  }
  return { ok: true, mobile: { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode } };
}

/**
 * Whether `prefix` is an E.164 number without its last `dropDigits` digits: a
 * block that holds valid numbers (tried at its start, middle and end).
 */
export function isNumberBlock(prefix: string, dropDigits: number): boolean {
  return ["0", "5", "9"].some((digit) => parsePhoneNumberFromString(`${prefix}${digit.repeat(dropDigits)}`)?.isValid() === true);
}
