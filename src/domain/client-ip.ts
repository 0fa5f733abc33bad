import ipaddr from "ipaddr.js";
import { ipv4Number } from "./address-buckets";

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
      if (part.includes("/")) ranges.push(mappedAsIpv4(ipaddr.parseCIDR(part)));
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

/**
 * An IPv4-mapped range (`::ffff:127.0.0.0/104`) as the IPv4 range it maps: peers and forwarded
 * addresses are compared as IPv4 (see `parse`), so the IPv6 spelling would never match, and every
 * client would silently share the proxy's bucket.
 */
function mappedAsIpv4(range: [ipaddr.IPv4 | ipaddr.IPv6, number]): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const [address, bits] = range;
  if (address.kind() !== "ipv6" || bits < 96) return range;
  const v6 = address as ipaddr.IPv6;
  return v6.isIPv4MappedAddress() ? [v6.toIPv4Address(), bits - 96] : range;
}

/** The setting's text for a parsed TRUST_PROXY (the inverse of `parseTrustProxy`). */
export function formatTrustProxy(trust: TrustProxy): string {
  if (trust.kind === "none") return "false";
  if (trust.kind === "hops") return String(trust.hops);
  return trust.ranges.map(([range, bits]) => `${range.toString()}/${bits}`).join(",");
}

/** `[v6]` or `[v6]:port`, and `v4:port`: proxies write X-Forwarded-For entries with ports too. */
const WITH_PORT = /^\[([^\]]+)\](?::[0-9]{1,5})?$|^([0-9.]+):[0-9]{1,5}$/;

function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  let address = text.trim();
  const ported = WITH_PORT.exec(address);
  // One of the two groups matched: `[v6]` the first, `v4:port` the second.
  if (ported) address = ported[1] ?? ported[2] ?? address;
  // ipaddr.process turns IPv4-mapped IPv6 (::ffff:1.2.3.4) into plain IPv4.
  return ipaddr.isValid(address) ? ipaddr.process(address) : undefined;
}

function trusted(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  return ranges.some(([range, bits]) => {
    if (addr.kind() === range.kind()) return addr.match([range, bits] as never);
    // An IPv4 address in an IPv6 range wider than the mapped /96 (`::/0`): as the mapped address it is.
    return (
      addr.kind() === "ipv4" &&
      (addr as ipaddr.IPv4).toIPv4MappedAddress().match([range as ipaddr.IPv6, bits])
    );
  });
}

/**
 * The client's address: the socket peer, unless trusted proxies say otherwise.
 * Walks X-Forwarded-For from the right (the entries our own proxies appended)
 * and stops at the first address not vouched for; an entry that is not an IP
 * ends the walk at the proxy that reported it, so junk cannot open new buckets.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | null,
  trust: TrustProxy,
): string {
  // The common case, cheaply: a plain IPv4 socket peer and no proxy to ask.
  if ((trust.kind === "none" || !forwardedFor) && peer !== undefined && ipv4Number(peer) >= 0) return peer;
  const peerAddr = peer ? parse(peer) : undefined;
  if (!peerAddr) return "unknown";
  if (trust.kind === "none" || !forwardedFor) return peerAddr.toString();
  return walkForwarded(peerAddr, forwardedFor.split(","), trust).toString();
}

/**
 * Walks X-Forwarded-For's `chain` leftwards from the peer: the first address `trust` does not vouch
 * for, or the last one read when the chain ends or an entry is not an address.
 */
function walkForwarded(
  peer: ipaddr.IPv4 | ipaddr.IPv6,
  chain: string[],
  trust: Exclude<TrustProxy, { kind: "none" }>,
): ipaddr.IPv4 | ipaddr.IPv6 {
  let current = peer;
  for (let hop = 0; ; hop++) {
    const vouched = trust.kind === "hops" ? hop < trust.hops : trusted(current, trust.ranges);
    if (!vouched) return current;
    const entry = chain.pop();
    if (entry === undefined) return current;
    const next = parse(entry);
    if (!next) return current;
    current = next;
  }
}
