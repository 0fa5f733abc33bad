import { splitList } from "../../../lib/split-list";

/** Where a Redis Cluster is found, and how to log in to its nodes. */
export interface ClusterSeeds {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** `rediss://` seeds: every node is reached over TLS. */
  tls: boolean;
}

const PLAIN = /^(\[[0-9a-fA-F:.]+\]|[^\s,:/@[\]]+):([0-9]{1,5})$/;

/**
 * REDIS_CLUSTER_NODES: comma-separated seeds, each `host:port` or a URL
 * `redis://[user:password@]host:port` / `rediss://…` (TLS). The nodes of one
 * cluster share one login and one scheme, so URL seeds must agree on them.
 * Returns the seeds, or what is wrong (never echoing a password).
 */
export function parseClusterSeeds(text: string): ClusterSeeds | string {
  const seeds: ClusterSeeds = { nodes: [], tls: false };
  let login: string | undefined;
  let plainSeeds = 0;
  const entries = splitList(text);
  for (const [i, entry] of entries.entries()) {
    const seed = parseSeed(entry);
    if (typeof seed === "string") return `seed ${i + 1}: ${seed}`;
    if (seed.login) {
      const { tls, username, password } = seed.login;
      const thisLogin = `${tls}\0${username ?? ""}\0${password ?? ""}`;
      if (login !== undefined && login !== thisLogin) {
        return "every URL seed with the same scheme, user and password";
      }
      login = thisLogin;
      Object.assign(seeds, seed.login);
    } else {
      plainSeeds += 1;
    }
    seeds.nodes.push({ host: seed.host, port: seed.port });
  }
  if (seeds.tls && plainSeeds > 0) return "rediss:// on every seed (a TLS cluster has no plain-text node)";
  return seeds;
}

/** One seed: its node, and for a URL seed the login it names. */
interface Seed {
  host: string;
  port: number;
  login?: { tls: boolean; username: string | undefined; password: string | undefined };
}

/** A seed, `host:port` or a URL; or what is wrong with it. */
function parseSeed(entry: string): Seed | string {
  const plain = PLAIN.exec(entry);
  if (!plain) return parseUrlSeed(entry);
  // PLAIN has two groups, both required: a match holds both.
  const [, host = "", portText] = plain;
  const port = Number(portText);
  if (port < 1 || port > 65535) return "a port from 1 to 65535";
  return { host: unbracketed(host), port };
}

function parseUrlSeed(entry: string): Seed | string {
  if (!/^rediss?:\/\//i.test(entry)) return "host:port, or a redis:// or rediss:// URL";
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return "a URL such as rediss://user:password@host:6379";
  }
  if (!url.port) return "a port (rediss://host:6379)";
  if (url.pathname !== "" && url.pathname !== "/") return "no database (a cluster has only 0)";
  return {
    host: unbracketed(url.hostname),
    port: Number(url.port),
    login: {
      tls: url.protocol === "rediss:",
      username: decodeURIComponent(url.username) || undefined,
      password: decodeURIComponent(url.password) || undefined,
    },
  };
}

/** An IPv6 host without the brackets it is written in. */
const unbracketed = (host: string) => host.replace(/^\[|\]$/g, "");

/** The seeds as they may be shown: the password masked. */
export function describeSeeds(seeds: ClusterSeeds): string {
  const scheme = seeds.tls ? "rediss" : "redis";
  const login =
    seeds.username || seeds.password ? `${seeds.username ?? ""}${seeds.password ? ":***" : ""}@` : "";
  return seeds.nodes
    .map((n) => `${scheme}://${login}${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.port}`)
    .join(",");
}
