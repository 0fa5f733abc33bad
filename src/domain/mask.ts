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

/** A digit as a path may spell it: itself, or percent-encoded, once or more (`9`, `%39`, `%2539`). */
const DIGIT = "(?:[0-9]|%(?:25)*3[0-9])";
/** What may stand between the digits of a number written for people: `-`, `.`, `_`, `(`, `)`, a space, encoded or not. */
const SEPARATOR = "(?:[-._() ]|%(?:25)*(?:20|2[89DdEe]|5[Ff]))";
/** Eight digits or more, one separator at most between two: a phone number, however it is spelled. */
const DIGIT_RUN = new RegExp(`${DIGIT}(?:${SEPARATOR}?${DIGIT}){7,}`, "g");
const ONE_DIGIT = new RegExp(DIGIT, "g");

/**
 * Text as it may be logged (a request's path or query): every run of eight or
 * more digits masked but its last four, whatever its spelling (with or without
 * `+`, percent-encoded once or twice, with separators), so that a number in a
 * URL never reaches a log line whole. `/admin/phones/919811112222/windows` is
 * logged as `/admin/phones/********2222/windows`.
 */
export function maskDigitRuns(text: string): string {
  if (!/[0-9]/.test(text)) return text;
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.match(ONE_DIGIT) ?? [];
    let hidden = digits.length - 4;
    return run.replace(ONE_DIGIT, (digit) => (hidden-- > 0 ? "*" : digit));
  });
}
