import { describe, expect, test } from "bun:test";
import { requireMobile } from "../../../src/modules/otp/phone";

describe("phone numbers", () => {
  test("accept mobiles and refuse landlines and invalid numbers", () => {
    expect(requireMobile("+919876543210")).toEqual({
      e164: "+919876543210",
      country: "IN",
      callingCode: "91",
    });
    expect(requireMobile("+14155552671").country).toBe("US"); // fixed-line-or-mobile plan
    // A valid Delhi landline, and a number no plan allows: both refused, each with its own reason.
    expect(() => requireMobile("+911123456789")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a mobile") }),
    );
    expect(() => requireMobile("+999123456789")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a valid") }),
    );
    expect(() => requireMobile("+9198765")).toThrow(
      expect.objectContaining({ code: "INVALID_PHONE", detail: expect.stringContaining("not a valid") }),
    );
  });
});
