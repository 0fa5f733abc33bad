import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { GatewayError } from "../errors";

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

/**
 * Validates a number with libphonenumber's full metadata and keeps only numbers
 * that can receive an SMS (mobile, or a plan where mobile and fixed line cannot
 * be told apart, as in the US). Refused before any money is spent.
 */
export function parseMobile(input: string): MobileNumber {
  const parsed = parsePhoneNumberFromString(input);
  // getType() matches the number against each type's pattern, which is also what
  // isValid() does with full metadata: so the common, valid case runs it once.
  const type = parsed?.getType();
  if (!parsed || (type !== "MOBILE" && type !== "FIXED_LINE_OR_MOBILE")) {
    if (!parsed?.isValid()) throw new GatewayError("INVALID_PHONE", { detail: "The phone number is not a valid E.164 number." });
    throw new GatewayError("INVALID_PHONE", { detail: "The phone number cannot receive SMS (not a mobile number)." });
  }
  return { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode };
}
