/**
 * Masks a phone number for logs: the country code and the last four digits stay,
 * everything between becomes `*` (`+919876543210` → `+91******3210`).
 * Anything that is not a plausible E.164 string is masked whole, so a log line
 * never carries a full number, whatever a client sent.
 */
export function maskPhone(phone: string, callingCode?: string): string {
  if (!/^\+[0-9]{7,15}$/.test(phone)) return "[redacted]";
  const cc = callingCode && phone.startsWith(`+${callingCode}`) ? callingCode : phone.slice(1, 3);
  const national = phone.length - 1 - cc.length;
  // At most the last four digits, and never more than the national number less six:
  // a short number (4–7 digits, as in Tokelau or St Helena) keeps most of it hidden.
  const shown = Math.max(0, Math.min(4, national - 6));
  return `+${cc}${"*".repeat(national - shown)}${shown > 0 ? phone.slice(-shown) : ""}`;
}

/**
 * What may stand for a digit in a URL: any Unicode decimal digit (ASCII, fullwidth, Devanagari...),
 * or a percent-escape, which may encode one (at any depth, or as an overlong UTF-8 sequence).
 */
const DIGIT_LIKE = /%[0-9A-Fa-f]{2}|\p{Nd}/gu;

/**
 * Text as it may be logged (a request's path, an upstream's error code): when it holds eight
 * characters or more that are or may encode digits, each of them is masked (`*`) but the last
 * four plain digits, whatever separates them. So a phone number never reaches a log line whole,
 * however it is spelled: with or without `+`, percent-encoded once or twice, in fullwidth digits,
 * with spaces, slashes, commas or brackets between its digits. `/admin/phones/919811112222/windows`
 * is logged as `/admin/phones/********2222/windows`; `/v1/otp/send` as it is.
 */
export function maskDigitRuns(text: string): string {
  const tokens = text.match(DIGIT_LIKE);
  if (!tokens || tokens.length < 8) return text;
  // The last four plain digits stay: counted from the end.
  let kept = 0;
  const keep = new Set<number>();
  const positions = [...text.matchAll(DIGIT_LIKE)];
  for (let i = positions.length - 1; i >= 0 && kept < 4; i--) {
    const token = positions[i]?.[0] ?? "";
    if (/^[0-9]$/.test(token)) {
      keep.add(positions[i]?.index ?? -1);
      kept += 1;
    }
  }
  return text.replace(DIGIT_LIKE, (token, at: number) => (keep.has(at) ? token : "*"));
}
