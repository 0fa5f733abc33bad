// Builds and runs the gateway's image with Debian's podman and buildah, for the image's test and
// its bench. Every container path lives in one temporary folder (storage, run state, settings),
// so nothing touches the machine's own container storage and nothing can be pulled.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type Ran, run, waitHealthy } from "./local";

export type { Ran } from "./local";

const ROOT = new URL("../..", import.meta.url).pathname;
export const QEMU_AARCH64 = "/usr/bin/qemu-aarch64-static";
export const ARCHES = ["amd64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

/** What the tools need that a machine may lack; empty when the image can be built and run here. */
export function containerToolsMissing(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (podman and buildah run rootful here)");
  for (const tool of ["buildah", "podman", "runc", "skopeo"]) {
    if (!Bun.which(tool)) missing.push(tool);
  }
  if (!existsSync(QEMU_AARCH64)) missing.push("qemu-user-static (runs the arm64 image)");
  return missing;
}

/** One image as podman describes it (the fields the checks read). */
/**
 * How the docs run the image, and compose.yaml's gateway: read-only, every capability dropped,
 * no new privileges, as the image's own user (no --user).
 */
export const HARDENED = ["--read-only", "--cap-drop=all", "--security-opt", "no-new-privileges"];

export interface ImageFacts {
  Architecture: string;
  Size: number;
  Config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    ExposedPorts?: Record<string, unknown>;
    Labels?: Record<string, string>;
  };
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

/** One entry of the image's file system: `type` is tar's (d, -, l), `mode` like rwxr-xr-x. */
export interface ImageFile {
  path: string;
  type: string;
  mode: string;
  owner: number;
  group: number;
}

export interface RunOptions {
  arch: Arch;
  env: Record<string, string>;
  /** Extra `podman run` flags, before the image. */
  flags?: string[];
}

/** A private container host: podman and buildah with their own storage under a temporary folder. */
export class ContainerHost {
  readonly dir = mkdtempSync(join(tmpdir(), "otp-image-"));
  readonly image = "otp-gateway";
  readonly version: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  readonly env: Record<string, string>;
  #names = 0;

  constructor() {
    const conf = (name: string, text: string) => {
      const path = join(this.dir, name);
      writeFileSync(path, text);
      return path;
    };
    this.env = {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: process.env.HOME ?? "/root",
      CONTAINERS_STORAGE_CONF: conf(
        "storage.conf",
        `[storage]\ndriver = "overlay"\ngraphroot = "${this.dir}/storage"\nrunroot = "${this.dir}/run"\n`,
      ),
      // runc: crun cannot drop cgroup controllers on these VMs. Limits within the VM's hard ones.
      CONTAINERS_CONF: conf(
        "containers.conf",
        [
          "[containers]",
          'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
          "[engine]",
          'runtime = "runc"',
          'cgroup_manager = "cgroupfs"',
          'events_logger = "file"',
          `tmp_dir = "${this.dir}/tmp"`,
          "",
        ].join("\n"),
      ),
      // No search registries: a short name can never turn into a pull.
      CONTAINERS_REGISTRIES_CONF: conf("registries.conf", "unqualified-search-registries = []\n"),
    };
  }

  tag(arch: Arch): string {
    return `${this.image}:${this.version}-${arch}`;
  }

  exec(cmd: string[], extraEnv: Record<string, string> = {}): Promise<Ran> {
    return run(cmd, { cwd: ROOT, env: { ...this.env, ...extraEnv } });
  }

  /** Runs podman; throws with its stderr when it fails. */
  async podman(...args: string[]): Promise<string> {
    const ran = await this.exec(["podman", ...args]);
    if (ran.code !== 0) throw new Error(`podman ${args.join(" ")} (exit ${ran.code}): ${ran.stderr}`);
    return ran.stdout;
  }

  /** `bun run image`'s script, into this host's storage. */
  async build(arches: readonly Arch[] = ARCHES): Promise<void> {
    for (const arch of arches) {
      const ran = await this.exec(["bash", "scripts/image.sh", arch], { IMAGE: this.image });
      if (ran.code !== 0) throw new Error(`scripts/image.sh ${arch} (exit ${ran.code}):\n${ran.stderr}`);
    }
  }

  async inspect(arch: Arch): Promise<ImageFacts> {
    const [facts] = JSON.parse(await this.podman("image", "inspect", this.tag(arch))) as ImageFacts[];
    if (!facts) throw new Error(`no image ${this.tag(arch)}`);
    return facts;
  }

  /**
   * Starts the image the way the docs run it: read-only, every capability dropped, no new
   * privileges, as the image's own user, on the host's network (no iptables chains for -p).
   * An arm64 image runs its entrypoint and HEALTHCHECK under the host's qemu, bind-mounted.
   */
  async start({ arch, env, flags = [] }: RunOptions): Promise<Container> {
    const name = `otp-${process.pid}-${++this.#names}`;
    const port = await freePort();
    const envFlags = Object.entries({ HOST: "127.0.0.1", PORT: String(port), ...env }).flatMap(([k, v]) => [
      "-e",
      `${k}=${v}`,
    ]);
    const emulation = arch === "arm64" ? await this.#underQemu(arch) : [];
    const started = performance.now();
    await this.podman(
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "host",
      ...HARDENED,
      ...emulation,
      ...envFlags,
      ...flags,
      this.tag(arch),
    );
    const container = new Container(this, name, port);
    try {
      await waitHealthy(port, 60_000);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}\n${await container.logs()}`);
    }
    container.startupMs = performance.now() - started;
    return container;
  }

  /** Flags that run an arm64 image's entrypoint and HEALTHCHECK through qemu-aarch64-static. */
  async #underQemu(arch: Arch): Promise<string[]> {
    const { Config, Healthcheck } = await this.inspect(arch);
    const qemu = "/qemu-aarch64-static";
    const health = Healthcheck?.Test[0] === "CMD" ? [qemu, ...Healthcheck.Test.slice(1)] : undefined;
    return [
      "-v",
      `${QEMU_AARCH64}:${qemu}:ro`,
      "--entrypoint",
      JSON.stringify([qemu, ...(Config.Entrypoint ?? [])]),
      // Emulated, the check's own start takes seconds: its timeout is the emulator's, not the image's.
      ...(health ? ["--health-cmd", JSON.stringify(health), "--health-timeout", "30s"] : []),
    ];
  }

  /** Every file of the image, as `podman export` of a container made from it lists them. */
  async files(arch: Arch): Promise<ImageFile[]> {
    const listing = await this.#listing(arch);
    return listing
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [mode = "", owners = "", ...rest] = line.split(/\s+/);
        const name = rest.slice(3).join(" ").split(" -> ")[0] ?? "";
        return {
          path: name.replace(/\/$/, ""),
          type: mode.slice(0, 1),
          mode: mode.slice(1),
          owner: Number(owners.split("/")[0]),
          group: Number(owners.split("/")[1]),
        };
      });
  }

  /** One file's text from the image. */
  async fileText(arch: Arch, path: string): Promise<string> {
    await this.#listing(arch);
    const ran = await this.exec(["tar", "-xOf", this.#exported(arch), path]);
    if (ran.code !== 0) throw new Error(`no ${path} in ${this.tag(arch)}: ${ran.stderr}`);
    return ran.stdout;
  }

  #exported = (arch: Arch) => join(this.dir, `export-${arch}.tar`);
  #listings = new Map<Arch, Promise<string>>();

  #listing(arch: Arch): Promise<string> {
    let listing = this.#listings.get(arch);
    if (!listing) {
      listing = (async () => {
        const name = `otp-export-${process.pid}-${arch}`;
        await this.podman("create", "--name", name, this.tag(arch));
        await this.podman("export", "--output", this.#exported(arch), name);
        await this.podman("rm", name);
        const ran = await this.exec(["tar", "--numeric-owner", "-tvf", this.#exported(arch)]);
        if (ran.code !== 0) throw new Error(`tar -t ${this.#exported(arch)}: ${ran.stderr}`);
        return ran.stdout;
      })();
      this.#listings.set(arch, listing);
    }
    return listing;
  }

  /** Removes every container and image, unmounts the storage and deletes the folder. */
  async dispose(): Promise<void> {
    await this.exec(["podman", "rm", "--all", "--force", "--time", "0"]);
    await this.exec(["podman", "system", "reset", "--force"]);
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => point.startsWith(this.dir))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) await this.exec(["umount", "-l", point]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running container on the host's network. */
export class Container {
  startupMs = 0;
  readonly url: string;

  constructor(
    readonly host: ContainerHost,
    readonly name: string,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** The container's first process as the host sees it (the gateway, or qemu running it). */
  async pid(): Promise<number> {
    return Number((await this.host.podman("inspect", this.name, "--format", "{{.State.Pid}}")).trim());
  }

  /** Fields of /proc/<pid>/status: Uid, Gid, CapEff, NoNewPrivs, VmRSS ... */
  async status(): Promise<Record<string, string>> {
    const text = readFileSync(`/proc/${await this.pid()}/status`, "utf8");
    return Object.fromEntries(
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [key = "", ...rest] = line.split(":");
          return [key, rest.join(":").trim()];
        }),
    );
  }

  /** The options of the container's root mount as its own process sees it, e.g. ["ro", "relatime"]. */
  async rootMountOptions(): Promise<string[]> {
    const lines = readFileSync(`/proc/${await this.pid()}/mountinfo`, "utf8").split("\n");
    const root = lines.find((line) => line.split(" ")[4] === "/");
    return root?.split(" ")[5]?.split(",") ?? [];
  }

  /** `podman healthcheck run`: the image's own HEALTHCHECK, run once. */
  async healthcheck(): Promise<Ran> {
    return this.host.exec(["podman", "healthcheck", "run", this.name]);
  }

  /** The code the console provider printed for a verification: its one log line names the id's end. */
  async consoleCode(verificationId: string): Promise<string> {
    const line = (await this.logs())
      .split("\n")
      .filter((text) => text.startsWith("{"))
      .map((text) => JSON.parse(text) as { providerId?: string; code?: string })
      .find((entry) => entry.providerId && verificationId.endsWith(entry.providerId));
    if (!line?.code) throw new Error(`no console line for ${verificationId} in ${this.name}'s log`);
    return line.code;
  }

  async logs(): Promise<string> {
    const ran = await this.host.exec(["podman", "logs", this.name]);
    return ran.stdout + ran.stderr;
  }

  /** `podman stop` (SIGTERM, then SIGKILL after `graceSeconds`); its exit code and the time it took. */
  async stop(graceSeconds = 10): Promise<{ exitCode: number; ms: number }> {
    const started = performance.now();
    await this.host.podman("stop", "--time", String(graceSeconds), this.name);
    const ms = performance.now() - started;
    const exitCode = Number(
      (await this.host.podman("inspect", this.name, "--format", "{{.State.ExitCode}}")).trim(),
    );
    return { exitCode, ms };
  }
}
