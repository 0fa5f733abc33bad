import { describe, expect, test } from "bun:test";
import { maskPhone } from "../../src/domain/mask";

describe("masking", () => {
  test("keeps the country code and last four digits", () => {
    expect(maskPhone("+919876543210")).toBe("+91******3210");
    expect(maskPhone("+14155552671", "1")).toBe("+1******2671");
    expect(maskPhone("not a phone 9876543210")).toBe("[redacted]");
    // Short national numbers keep most digits hidden.
    expect(maskPhone("+6907290", "690")).toBe("+690****");
    expect(maskPhone("+2908999", "290")).toBe("+290****");
    expect(maskPhone("+35312345678", "353")).toBe("+353******78");
  });
});
