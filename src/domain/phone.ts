import { type MetadataJson, parsePhoneNumberFromString as parseWithMetadata } from "libphonenumber-js/core";
// The full ("max") metadata, parsed on first use. Imported as a module it is a 156 KB object literal
// that a compiled binary loads and evaluates at every start (about 1.5 ms); imported as text it is
// one string constant, and JSON.parse reads it in under a millisecond when a number is first checked.
// The package maps this path to an ES module, `export default {…}`: the JSON is what follows that.
// (TypeScript types any import of a .json path as its JSON: the text loader's string is cast back.)
import maxMetadataModule from "libphonenumber-js/metadata.max.json" with { type: "text" };

const DEFAULT_EXPORT = "export default ";
let maxMetadata: MetadataJson | undefined;

/** The metadata in libphonenumber-js's module text (exported for the test that compares it with the package's own). */
export function metadataOfModule(text: string): MetadataJson {
  const at = text.indexOf(DEFAULT_EXPORT);
  if (at < 0) throw new Error("libphonenumber-js metadata: no default export in the module text");
  return JSON.parse(
    text
      .slice(at + DEFAULT_EXPORT.length)
      .trim()
      .replace(/;$/, ""),
  ) as MetadataJson;
}

function parsePhoneNumberFromString(text: string) {
  maxMetadata ??= metadataOfModule(maxMetadataModule as unknown as string);
  return parseWithMetadata(text, maxMetadata);
}

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
  return {
    ok: true,
    mobile: { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode },
  };
}

/**
 * Whether `prefix` is an E.164 number without its last `dropDigits` digits: a
 * block that holds valid numbers (tried at its start, middle and end).
 */
export function isNumberBlock(prefix: string, dropDigits: number): boolean {
  return ["0", "5", "9"].some(
    (digit) => parsePhoneNumberFromString(`${prefix}${digit.repeat(dropDigits)}`)?.isValid() === true,
  );
}
