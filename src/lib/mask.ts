/**
 * Masks a phone number for logs: the country code and the last four digits stay,
 * everything between becomes `*` (`+919876543210` → `+91******3210`).
 * Anything that is not a plausible E.164 string is masked whole, so a log line
 * never carries a full number, whatever a client sent.
 */
export function maskPhone(phone: string, callingCode?: string): string {
  if (!/^\+[0-9]{7,15}$/.test(phone)) return "[redacted]";
  const cc = callingCode && phone.startsWith(`+${callingCode}`) ? callingCode : phone.slice(1, 3);
  const head = `+${cc}`;
  const tail = phone.slice(-4);
  return head + "*".repeat(Math.max(phone.length - head.length - tail.length, 1)) + tail;
}
