import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, privateRedisArgs } from "../../scripts/lib/local";
import { type ClusterSeeds, parseClusterSeeds } from "../../src/adapters/store/redis/seeds";
import { must } from "./given";

export { freePort };

/**
 * Real Redis for tests: the machine's server on 6379 (database 15, flushed per
 * suite), and private `redis-server` processes on free ports for tests that stop,
 * restart or cluster them.
 */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";

export async function flushSharedRedis(): Promise<void> {
  const client = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.flushdb();
  } catch (err) {
    throw new Error(
      `tests need Redis at ${SHARED_REDIS_URL} (bash scripts/setup.sh starts one): ${(err as Error).message}`,
    );
  } finally {
    client.disconnect();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** How clients log in to a private server: a password (requirepass) and TLS (only a TLS port). */
export interface RedisAuth {
  password?: string;
  tls?: TlsFiles;
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), "otp-tls-"));
  const files = { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
  const run = (...args: string[]) => {
    const proc = Bun.spawnSync(["openssl", ...args], { stdout: "ignore", stderr: "pipe" });
    if (proc.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${proc.stderr.toString()}`);
  };
  const caKey = join(dir, "ca.key");
  run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=otp-test-ca",
    "-keyout",
    caKey,
    "-out",
    files.ca,
  );
  const csr = join(dir, "server.csr");
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", files.key, "-out", csr);
  const ext = join(dir, "san.ext");
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    files.ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    files.cert,
  );
  return files;
}

/** redis-cli's arguments to reach a server on `port` with `auth`. */
function cliArgs(port: number, auth: RedisAuth = {}): string[] {
  return [
    "redis-cli",
    "-p",
    String(port),
    ...(auth.password ? ["-a", auth.password, "--no-auth-warning"] : []),
    ...(auth.tls ? ["--tls", "--cacert", auth.tls.ca] : []),
  ];
}

async function pings(port: number, auth?: RedisAuth): Promise<boolean> {
  const proc = Bun.spawn([...cliArgs(port, auth), "ping"], { stdout: "pipe", stderr: "ignore" });
  return (await new Response(proc.stdout).text()).trim() === "PONG";
}

/** A private redis-server that a test may stop and start again on the same port. */
export class RedisProcess {
  #proc?: ReturnType<typeof Bun.spawn>;
  readonly dir = mkdtempSync(join(tmpdir(), "otp-redis-"));

  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
    readonly auth: RedisAuth = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** redis-cli's arguments for this server. */
  cli(...args: string[]): string[] {
    return [...cliArgs(this.port, this.auth), ...args];
  }

  async start(): Promise<this> {
    const { password, tls } = this.auth;
    const authArgs = [
      ...(password ? ["--requirepass", password, "--masterauth", password] : []),
      ...(tls
        ? ["--tls-port", String(this.port), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key]
        : []),
      ...(tls
        ? [
            "--tls-ca-cert-file",
            tls.ca,
            "--tls-auth-clients",
            "no",
            "--tls-cluster",
            "yes",
            "--tls-replication",
            "yes",
          ]
        : []),
    ];
    this.#proc = Bun.spawn(
      // With TLS the plain port is closed (0): the server answers on --tls-port alone.
      privateRedisArgs(
        tls ? 0 : this.port,
        ...authArgs,
        "--dir",
        this.dir,
        "--enable-debug-command",
        "local",
        ...this.extraArgs,
      ),
      { stdout: "ignore", stderr: "ignore" },
    );
    await waitFor(() => pings(this.port, this.auth), `redis-server on ${this.port}`);
    return this;
  }

  /** SIGKILL: the server vanishes mid-run, as in a crash. */
  async kill(): Promise<void> {
    this.#proc?.kill("SIGKILL");
    await this.#proc?.exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A local Redis Cluster of three masters, no replicas. */
export class RedisCluster {
  readonly nodes: RedisProcess[] = [];

  constructor(readonly auth: RedisAuth = {}) {}

  /** Three masters; with `replicas: 1`, a replica each (six servers); with `auth`, behind a password and TLS. */
  static async start(options: { replicas?: number; auth?: RedisAuth } = {}): Promise<RedisCluster> {
    const cluster = new RedisCluster(options.auth);
    const replicas = options.replicas ?? 0;
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      const port = await freePort();
      cluster.nodes.push(
        await new RedisProcess(
          port,
          [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${port}.conf`,
            "--cluster-node-timeout",
            "2000",
          ],
          cluster.auth,
        ).start(),
      );
    }
    const create = Bun.spawn(
      [
        ...cliArgs(cluster.first.port, cluster.auth),
        "--cluster",
        "create",
        ...cluster.seeds,
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    if ((await create.exited) !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${await new Response(create.stderr).text()}`);
    }
    for (const node of cluster.nodes) {
      await waitFor(async () => {
        const info = Bun.spawn(node.cli("cluster", "info"), { stdout: "pipe" });
        return (await new Response(info.stdout).text()).includes("cluster_state:ok");
      }, `cluster state ok on ${node.port}`);
    }
    if (replicas > 0) {
      // A replica that has not finished its first sync cannot be promoted: wait for every link.
      await waitFor(
        async () => {
          let linked = 0;
          for (const node of cluster.nodes) {
            const info = Bun.spawn(node.cli("info", "replication"), { stdout: "pipe" });
            if ((await new Response(info.stdout).text()).includes("master_link_status:up")) linked++;
          }
          return linked === 3 * replicas;
        },
        "every replica in sync",
        20_000,
      );
    }
    return cluster;
  }

  /** The node redis-cli is pointed at to manage the whole cluster. */
  get first(): RedisProcess {
    return must(this.nodes[0], "a started node");
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slotProc = Bun.spawn(this.first.cli("cluster", "keyslot", key), { stdout: "pipe" });
    const slot = Number((await new Response(slotProc.stdout).text()).trim());
    const nodesProc = Bun.spawn(this.first.cli("cluster", "nodes"), { stdout: "pipe" });
    for (const line of (await new Response(nodesProc.stdout).text()).split("\n")) {
      const fields = line.split(" ");
      if (!fields[2]?.includes("master") || fields[2].includes("fail")) continue;
      for (const range of fields.slice(8)) {
        // A range reads `from-to`, a single slot `from`; the node's address `host:port@cport`.
        const [from = Number.NaN, to = from] = range.split("-").map(Number);
        if (slot >= from && slot <= to) return Number(fields[1]?.split(":")[1]?.split("@")[0]);
      }
    }
    throw new Error(`no master for slot ${slot}`);
  }

  node(port: number): RedisProcess {
    return must(
      this.nodes.find((n) => n.port === port),
      `a node of this cluster on port ${port}`,
    );
  }

  get seeds(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** REDIS_CLUSTER_NODES for this cluster: plain seeds, or URLs with its password and TLS. */
  get setting(): string {
    const { password, tls } = this.auth;
    if (!password && !tls) return this.seeds.join(",");
    return this.seeds
      .map((seed) => `${tls ? "rediss" : "redis"}://${password ? `:${password}@` : ""}${seed}`)
      .join(",");
  }

  /** The seeds as the store takes them (what REDIS_CLUSTER_NODES decodes to). */
  get connection(): ClusterSeeds {
    return parseClusterSeeds(this.setting) as ClusterSeeds;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
