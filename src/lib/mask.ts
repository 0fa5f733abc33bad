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
