import { describe, expect, test } from "bun:test";
import { clientAddress, formatTrustProxy } from "../../src/domain/client-ip";
import { trustOf } from "../support/given";

describe("client addresses", () => {
  test("X-Forwarded-For entries with a port are read as their address", () => {
    const trust = trustOf("1");
    expect(clientAddress("127.0.0.1", "192.0.2.10:51234", trust)).toBe("192.0.2.10");
    expect(clientAddress("127.0.0.1", "[2001:db8::7]:443", trust)).toBe("2001:db8::7");
    expect(clientAddress("127.0.0.1", "[2001:db8::8]", trust)).toBe("2001:db8::8");
    // A port on something that is not an address still ends the walk at the proxy.
    expect(clientAddress("127.0.0.1", "evil:80", trust)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "[::ffff:192.0.2.9]:80", trust)).toBe("192.0.2.9");
  });

  test("a trusted range written IPv4-mapped is the IPv4 range: its proxies' X-Forwarded-For is read", () => {
    const mapped = trustOf("::ffff:127.0.0.0/104, ::ffff:10.1.2.3/128");
    expect(formatTrustProxy(mapped)).toBe("127.0.0.0/8,10.1.2.3/32");
    expect(clientAddress("127.0.0.9", "192.0.2.10", mapped)).toBe("192.0.2.10");
    expect(clientAddress("::ffff:10.1.2.3", "192.0.2.11", mapped)).toBe("192.0.2.11");
    expect(clientAddress("10.1.2.4", "192.0.2.12", mapped)).toBe("10.1.2.4"); // outside: the peer is the client
    // A plain IPv6 range stays IPv6; one wider than the mapped /96 covers IPv4 peers too.
    expect(formatTrustProxy(trustOf("2001:db8::/32"))).toBe("2001:db8::/32");
    for (const wide of ["::/0", "::ffff:127.0.0.0/95"]) {
      expect(clientAddress("127.0.0.9", "192.0.2.13", trustOf(wide)), wide).toBe("192.0.2.13");
    }
    expect(clientAddress("127.0.0.9", "192.0.2.14", trustOf("2001:db8::/32"))).toBe("127.0.0.9");
  });
});
