import { type MobileNumber, type PhoneRefusal, parseMobile } from "../../domain/phone";
import { GatewayError } from "../../errors";

const REFUSAL_DETAIL: Record<PhoneRefusal, string> = {
  invalid: "The phone number is not a valid E.164 number.",
  not_mobile: "The phone number cannot receive SMS (not a mobile number).",
};

/** The number as a mobile, or INVALID_PHONE saying why: before anything is spent. */
export function requireMobile(input: string): MobileNumber {
  const parsed = parseMobile(input);
  if (!parsed.ok) throw new GatewayError("INVALID_PHONE", { detail: REFUSAL_DETAIL[parsed.refusal] });
  return parsed.mobile;
}
