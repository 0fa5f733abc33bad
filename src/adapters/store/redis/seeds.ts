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
    const plain = PLAIN.exec(entry);
    if (plain) {
      const port = Number(plain[2]);
      if (port < 1 || port > 65535) return `seed ${i + 1}: a port from 1 to 65535`;
      seeds.nodes.push({ host: plain[1]!.replace(/^\[|\]$/g, ""), port });
      plainSeeds += 1;
      continue;
    }
    if (!/^rediss?:\/\//i.test(entry)) return `seed ${i + 1}: host:port, or a redis:// or rediss:// URL`;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return `seed ${i + 1}: a URL such as rediss://user:password@host:6379`;
    }
    if (!url.port) return `seed ${i + 1}: a port (rediss://host:6379)`;
    if (url.pathname !== "" && url.pathname !== "/") {
      return `seed ${i + 1}: no database (a cluster has only 0)`;
    }
    const tls = url.protocol === "rediss:";
    const username = decodeURIComponent(url.username) || undefined;
    const password = decodeURIComponent(url.password) || undefined;
    const thisLogin = `${tls}\0${username ?? ""}\0${password ?? ""}`;
    if (login !== undefined && login !== thisLogin) {
      return "every URL seed with the same scheme, user and password";
    }
    login = thisLogin;
    Object.assign(seeds, { tls, username, password });
    seeds.nodes.push({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) });
  }
  if (seeds.tls && plainSeeds > 0) return "rediss:// on every seed (a TLS cluster has no plain-text node)";
  return seeds;
}

/** The seeds as they may be shown: the password masked. */
export function describeSeeds(seeds: ClusterSeeds): string {
  const scheme = seeds.tls ? "rediss" : "redis";
  const login =
    seeds.username || seeds.password ? `${seeds.username ?? ""}${seeds.password ? ":***" : ""}@` : "";
  return seeds.nodes
    .map((n) => `${scheme}://${login}${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.port}`)
    .join(",");
}
