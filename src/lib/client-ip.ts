import ipaddr from "ipaddr.js";

/**
 * Which proxies may tell us the client's address through X-Forwarded-For:
 * none (the header is ignored), a number of hops in front of the gateway, or
 * the proxies' CIDR ranges.
 */
export type TrustProxy =
  | { kind: "none" }
  | { kind: "hops"; hops: number }
  | { kind: "cidrs"; ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] };

/** `false`/empty, a hop count (`1`), or a comma list of CIDRs or addresses (`10.0.0.0/8,::1`). */
export function parseTrustProxy(text: string): TrustProxy | undefined {
  const value = text.trim();
  if (value === "" || value === "false" || value === "0") return { kind: "none" };
  if (/^[0-9]+$/.test(value)) return { kind: "hops", hops: Number(value) };
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const part of value.split(",").map((p) => p.trim())) {
    try {
      if (part.includes("/")) ranges.push(ipaddr.parseCIDR(part));
      else {
        const addr = ipaddr.process(part);
        ranges.push([addr, addr.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      return undefined;
    }
  }
  return { kind: "cidrs", ranges };
}

/** The setting's text for a parsed TRUST_PROXY (the inverse of `parseTrustProxy`). */
export function formatTrustProxy(trust: TrustProxy): string {
  if (trust.kind === "none") return "false";
  if (trust.kind === "hops") return String(trust.hops);
  return trust.ranges.map(([range, bits]) => `${range.toString()}/${bits}`).join(",");
}

/** Dotted-quad IPv4 as ipaddr.js writes it (no leading zeros): already canonical. */
const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const CANONICAL_IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = text.trim();
  // ipaddr.process turns IPv4-mapped IPv6 (::ffff:1.2.3.4) into plain IPv4.
  return ipaddr.isValid(trimmed) ? ipaddr.process(trimmed) : undefined;
}

function trusted(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  return ranges.some(([range, bits]) => addr.kind() === range.kind() && addr.match([range, bits] as never));
}

/**
 * The client's address: the socket peer, unless trusted proxies say otherwise.
 * Walks X-Forwarded-For from the right (the entries our own proxies appended)
 * and stops at the first address not vouched for; an entry that is not an IP
 * ends the walk at the proxy that reported it, so junk cannot open new buckets.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | null, trust: TrustProxy): string {
  // The common case, cheaply: a plain IPv4 socket peer and no proxy to ask.
  if ((trust.kind === "none" || !forwardedFor) && peer !== undefined && CANONICAL_IPV4.test(peer)) return peer;
  const peerAddr = peer ? parse(peer) : undefined;
  if (!peerAddr) return "unknown";
  if (trust.kind === "none" || !forwardedFor) return peerAddr.toString();
  const chain = forwardedFor.split(",");
  let current = peerAddr;
  for (let hop = 0; chain.length > 0; hop++) {
    const vouched = trust.kind === "hops" ? hop < trust.hops : trusted(current, trust.ranges);
    if (!vouched) break;
    const next = parse(chain.pop()!);
    if (!next) break;
    current = next;
  }
  return current.toString();
}

/** The rate-limit bucket of an address: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation). */
export function ipBucket(address: string): string {
  if (CANONICAL_IPV4.test(address)) return address;
  if (!ipaddr.IPv6.isValid(address) || ipaddr.IPv4.isValid(address)) return address;
  const parts = ipaddr.IPv6.parse(address).toNormalizedString().split(":").slice(0, 4);
  return `${parts.map((p) => p.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
