import ipaddr from "ipaddr.js";

/** What the per-address limits count a client address under: its own bucket and its subnet's. */
export interface AddressBuckets {
  /** IPv4 as is; IPv6 by its /64 (one subscriber's usual allocation). */
  host: string;
  /** IPv4 by its /24; IPv6 by its /48 (one site). */
  subnet: string;
  family: "v4" | "v6";
}

/** Dotted-quad IPv4 as ipaddr.js writes it (no leading zeros): already canonical. */
const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
export const CANONICAL_IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

const v4Buckets = (address: string): AddressBuckets => ({
  host: address,
  subnet: `${address.slice(0, address.lastIndexOf("."))}.0/24`,
  family: "v4",
});

/** Two 16-bit groups as a dotted quad. */
const dotted = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;

/**
 * The IPv4 address an IPv6 transition address carries, or undefined. Each such
 * range maps the whole IPv4 Internet into IPv6, so bucketing it by /64 would
 * put every NAT64 or Teredo client into one bucket, and give each IPv4 address
 * 65 536 buckets through 6to4.
 * - NAT64 `64:ff9b::/96` (RFC 6052) and SIIT `::ffff:0:0/96`: the last 32 bits;
 *   the local-use NAT64 `64:ff9b:1::/48` (RFC 8215): bits 48–63 and 72–87.
 * - 6to4 `2002::/16` (RFC 3056): bits 16–47.
 * - Teredo `2001::/32` (RFC 4380): the client's address, stored inverted, in the last 32 bits.
 */
function embeddedIpv4(parts: readonly number[]): string | undefined {
  const [p0, p1, p2, p3, p4, p5, p6, p7] = parts as [number, number, number, number, number, number, number, number];
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) return dotted(p6, p7);
  // The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215): a /48 layout, the IPv4 in bits 48–63 and 72–87.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 1) return dotted(p3, ((p4 & 0xff) << 8) | (p5 >> 8));
  // SIIT's IPv4-translated form ::ffff:0:a.b.c.d (RFC 6145), like the IPv4-mapped one.
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0xffff && p5 === 0) return dotted(p6, p7);
  if (p0 === 0x2002) return dotted(p1, p2);
  if (p0 === 0x2001 && p1 === 0) return dotted(p6 ^ 0xffff, p7 ^ 0xffff);
  return undefined;
}

const hex = (parts: readonly number[]) => parts.map((p) => p.toString(16)).join(":");

/**
 * The buckets of a client address as `clientAddress` returns it (canonical IPv4,
 * or IPv6 as ipaddr.js writes it). Anything else, `unknown` included, is its own
 * bucket at both tiers.
 */
export function addressBuckets(address: string): AddressBuckets {
  if (CANONICAL_IPV4.test(address)) return v4Buckets(address);
  if (!ipaddr.IPv6.isValid(address) || ipaddr.IPv4.isValid(address)) return { host: address, subnet: address, family: "v4" };
  const parts = ipaddr.IPv6.parse(address).parts;
  const carried = embeddedIpv4(parts);
  if (carried) return v4Buckets(carried);
  return { host: `${hex(parts.slice(0, 4))}::/64`, subnet: `${hex(parts.slice(0, 3))}::/48`, family: "v6" };
}
