import { describe, expect, test } from "bun:test";
import { addressBuckets, ipv4Number } from "../../src/domain/address-buckets";
import { clientAddress } from "../../src/domain/client-ip";
import { trustOf } from "../support/given";

describe("address buckets", () => {
  test("IPv4 by itself and its /24; IPv6 by /64 and /48, however the address is spelled", () => {
    expect(addressBuckets("192.0.2.77")).toEqual({
      host: "192.0.2.77",
      subnet: "192.0.2.0/24",
      family: "v4",
      v4: 0xc000024d,
    });
    const v6 = { host: "2001:db8:1:2::/64", subnet: "2001:db8:1::/48", family: "v6" as const };
    for (const spelling of ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"]) {
      expect(addressBuckets(spelling)).toEqual(v6);
    }
    // clientAddress writes every accepted spelling one way before bucketing.
    const none = trustOf("false");
    for (const spelling of [
      "2001:0DB8:0001:0002:0000:0000:0000:0001",
      "2001:db8:1:2:0::1",
      "[2001:db8:1:2::1]",
    ]) {
      const address = clientAddress(spelling.replace(/^\[|\]$/g, ""), null, none);
      expect(addressBuckets(address), spelling).toEqual(v6);
    }
  });

  test("transition addresses are bucketed as the IPv4 address they carry", () => {
    const carried = { host: "192.0.2.45", subnet: "192.0.2.0/24", family: "v4" as const, v4: 0xc000022d };
    expect(addressBuckets("64:ff9b::c000:22d")).toEqual(carried); // NAT64, RFC 6052
    expect(addressBuckets("::ffff:0:c000:22d")).toEqual(carried); // SIIT, RFC 6145
    expect(addressBuckets("64:ff9b:1:c000:2:2d00::")).toEqual(carried); // local-use NAT64 /48, RFC 8215
    expect(addressBuckets("2002:c000:22d::1")).toEqual(carried); // 6to4: any host behind one IPv4
    expect(addressBuckets("2002:c000:22d:ffff:1:2:3:4")).toEqual(carried);
    expect(addressBuckets("2001:0:4136:e378:8000:63bf:3fff:fdd2")).toEqual(carried); // Teredo, client inverted
    // Two NAT64 clients are two buckets, not one.
    expect(addressBuckets("64:ff9b::c000:22e").host).toBe("192.0.2.46");
  });
});

describe("ipv4Number", () => {
  test("reads canonical dotted quads, and nothing else, as 32-bit numbers", () => {
    expect(ipv4Number("0.0.0.0")).toBe(0);
    expect(ipv4Number("10.1.2.3")).toBe(0x0a010203);
    expect(ipv4Number("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4Number("10.1.2.0")).toBe(0x0a010200);
    for (const other of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.04",
      "1..2.3",
      "1.2.3.",
      ".1.2.3",
      "::1",
      "1.2.3.4/24",
      "unknown",
      "1.2.3.4 ",
    ])
      expect(ipv4Number(other)).toBe(-1);
  });
});
