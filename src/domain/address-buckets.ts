import ipaddr from "ipaddr.js";

/** What the per-address limits count a client address under: its own bucket and its subnet's. */
export interface AddressBuckets {
  /** IPv4 as is; IPv6 by its /64 (one subscriber's usual allocation). */
  host: string;
  /** IPv4 by its /24; IPv6 by its /48 (one site). */
  subnet: string;
  family: "v4" | "v6";
  /** An IPv4 host (the address itself or the one a transition address carries) as a 32-bit number. */
  v4?: number;
}

const v4Buckets = (address: string, v4: number): AddressBuckets => ({
  host: address,
  subnet: `${address.slice(0, address.lastIndexOf("."))}.0/24`,
  family: "v4",
  v4,
});

/**
 * A canonical dotted quad (no leading zeros, as ipaddr.js writes one) as a
 * 32-bit number; -1 for anything else. One text, one number: two buckets that
 * were apart as strings stay apart.
 */
export function ipv4Number(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      continue;
    }
    if (!extendsOctet(c, part, digits)) return -1;
    part = part * 10 + (c - 48);
    if (part > 255) return -1;
    digits++;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Whether character `c` is a digit that may follow an octet's `digits` digits worth `part`: three at most, no leading 0. */
const extendsOctet = (c: number, part: number, digits: number) =>
  c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && part === 0);

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
  const [p0, p1, p2, p3, p4, p5, p6, p7] = parts as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
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
  const v4 = ipv4Number(address);
  if (v4 >= 0) return v4Buckets(address, v4);
  if (!ipaddr.IPv6.isValid(address) || ipaddr.IPv4.isValid(address)) {
    return { host: address, subnet: address, family: "v4" };
  }
  const parts = ipaddr.IPv6.parse(address).parts;
  const carried = embeddedIpv4(parts);
  if (carried) return v4Buckets(carried, ipv4Number(carried));
  return { host: `${hex(parts.slice(0, 4))}::/64`, subnet: `${hex(parts.slice(0, 3))}::/48`, family: "v6" };
}
