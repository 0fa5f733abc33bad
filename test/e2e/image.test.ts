import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARCHES, ContainerHost, containerToolsMissing } from "../../scripts/lib/containers";
import { durationNs, runtimeStage } from "../support/dockerfile";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";

/**
 * The container image, built by `bun run image` (scripts/image.sh) for both architectures into a
 * private container storage, and run the way the docs run it: read-only, every capability
 * dropped, no new privileges, as the image's own user. The arm64 image runs under qemu-user.
 * podman and buildah run rootful here: as another user the whole file is skipped, saying so.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("test/e2e/image.test.ts: skipped, podman and buildah need root on this machine");

const stage = runtimeStage();
const version: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const fake = new FakeStartMessaging();
let host: ContainerHost;

beforeAll(async () => {
  if (!isRoot) return;
  const missing = containerToolsMissing();
  if (missing.length > 0) {
    throw new Error(
      `needs ${missing.join(", ")}: apt-get install buildah podman runc skopeo (scripts/setup.sh does)`,
    );
  }
  host = new ContainerHost();
  await Promise.all([host.build(), fake.start(), flushSharedRedis()]);
}, 240_000);

afterAll(async () => {
  if (!isRoot) return;
  await fake.stop();
  await host?.dispose();
}, 60_000);

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** Sends a code to `phone` and verifies it with the code `codeOf` finds for the send's id. */
async function roundTrip(url: string, phone: string, codeOf: (verificationId: string) => Promise<string>) {
  const send = await fetch(`${url}/v1/otp/send`, json({ phone }));
  expect(send.status, await send.clone().text()).toBe(200);
  const { verificationId } = (await send.json()) as { verificationId: string };
  const verify = await fetch(
    `${url}/v1/otp/verify`,
    json({ verificationId, code: await codeOf(verificationId) }),
  );
  expect(await verify.json()).toEqual({ verified: true });
}

describe.skipIf(!isRoot)("the image, as scripts/image.sh builds it", () => {
  test.each(ARCHES)("linux/%s says what the Dockerfile's runtime stage says", async (arch) => {
    const image = await host.inspect(arch);
    expect(image.Architecture).toBe(arch);
    const config = image.Config;
    expect(config.User).toBe(stage.user);
    expect(stage.user).toMatch(/^nonroot|^65532/);
    expect(config.Labels).toMatchObject(stage.labels);
    expect(stage.labels["org.opencontainers.image.version"]).toBe(version);
    expect(config.Env).toEqual(
      expect.arrayContaining(Object.entries(stage.env).map(([k, v]) => `${k}=${v}`)),
    );
    expect(config.Entrypoint).toEqual(stage.entrypoint);
    expect(config.Cmd).toEqual(stage.cmd);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(stage.expose.map((port) => `${port}/tcp`));
    const { options, test: check } = stage.healthcheck;
    expect(check).toEqual(["CMD", "/otp-gateway", "healthcheck"]);
    expect(image.Healthcheck).toEqual({
      Test: check,
      Interval: durationNs(options.interval ?? ""),
      Timeout: durationNs(options.timeout ?? ""),
      StartPeriod: durationNs(options["start-period"] ?? ""),
      Retries: Number(options.retries),
    });
  });

  test.each(ARCHES)(
    "linux/%s holds glibc, CA certificates, tzdata and the binary: no shell, no package manager, nothing its user can write",
    async (arch) => {
      const files = await host.files(arch);
      const names = new Set(files.map((file) => file.path));
      for (const needed of [
        "otp-gateway",
        "etc/ssl/certs/ca-certificates.crt",
        "usr/share/zoneinfo/UTC",
        "etc/passwd",
        "etc/group",
        "home/nonroot",
      ]) {
        expect(names.has(needed), needed).toBe(true);
      }
      expect([...names].some((path) => /^lib\/[\w-]+-linux-gnu\/libc\.so\.6$/.test(path))).toBe(true);
      // No program but the gateway, wherever it lies: every executable file is it or a shared library.
      const programs = files.filter(
        (file) =>
          file.type === "-" &&
          /x/.test(file.mode) &&
          file.path !== "otp-gateway" &&
          !/\.so(\.[0-9]+)*$/.test(file.path),
      );
      expect(programs.map((file) => file.path)).toEqual([]);
      expect(
        files.filter((file) => /(^|\/)(sh|bash|dash|busybox)$/.test(file.path)).map((f) => f.path),
      ).toEqual([]);
      expect([...names].filter((path) => /(^|\/)apt(\/|$)/.test(path))).toEqual([]);
      // No dpkg either, but its package records, for vulnerability scanners.
      const records = [...names]
        .filter((path) => path.startsWith("var/lib/dpkg/status.d/"))
        .map((path) => path.slice(22));
      expect(records.sort()).toEqual([
        "base-files",
        "ca-certificates",
        "libc6",
        "libgcc-s1",
        "libstdc++6",
        "netbase",
        "tzdata",
      ]);
      const passwd = await host.fileText(arch, "etc/passwd");
      expect(passwd).toContain("nonroot:x:65532:65532:");
      // Only the nonroot home is the user's; besides it, only the sticky temp folders (/tmp,
      // /var/tmp) take its files. The binary and every other file are root's, closed to it.
      const writable = files.filter(
        (file) =>
          file.type !== "l" &&
          file.path !== "home/nonroot" &&
          !(file.type === "d" && file.mode.endsWith("t") && file.owner === 0) &&
          (file.owner === 65532 || (file.group === 65532 && file.mode[4] === "w") || file.mode[7] === "w"),
      );
      expect(writable.map((file) => `${file.path} ${file.mode} ${file.owner}:${file.group}`)).toEqual([]);
      expect(files.find((file) => file.path === "home/nonroot")).toMatchObject({
        owner: 65532,
        mode: "rwx------",
      });
      const binary = files.find((file) => file.path === "otp-gateway");
      expect(binary?.mode).toBe("rwxr-xr-x");
    },
  );
});

for (const arch of ARCHES) {
  describe.skipIf(!isRoot)(`linux/${arch}, run read-only as its own user`, () => {
    test("as uid 65532 with no capabilities on a read-only root: /healthz, its HEALTHCHECK, a send and verify with Redis in production, SIGTERM exits 0", async () => {
      const phone = arch === "amd64" ? "+919876502001" : "+919876502002";
      const gateway = await host.start({
        arch,
        env: {
          STARTMESSAGING_API_KEY: "sm_test_fake_key",
          STARTMESSAGING_BASE_URL: fake.url,
          REDIS_URL: SHARED_REDIS_URL,
        },
      });
      try {
        const status = await gateway.status();
        expect(status.Uid?.split(/\s+/)).toEqual(["65532", "65532", "65532", "65532"]);
        expect(status.Gid?.split(/\s+/)[0]).toBe("65532");
        expect(status.CapEff).toBe("0000000000000000");
        expect(status.CapBnd).toBe("0000000000000000");
        expect(status.NoNewPrivs).toBe("1");
        expect(await gateway.rootMountOptions()).toContain("ro");

        expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: "ok" });
        const health = await gateway.healthcheck();
        expect(health.code, health.stdout + health.stderr).toBe(0);
        const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as {
          checks: { store: { detail: string } };
        };
        expect(ready.checks.store.detail).toBe("redis");

        await roundTrip(gateway.url, phone, async (id) => fake.sentCode(id));
        expect(
          fake.calls("/otp/send").some((call) => JSON.stringify(call.body).includes(phone.slice(3))),
        ).toBe(true);
      } finally {
        const stopped = await gateway.stop(10);
        const logs = await gateway.logs();
        expect(stopped.exitCode, logs).toBe(0);
        expect(stopped.ms).toBeLessThan(10_000);
        expect(logs).toContain('"msg":"stopped"');
        expect(logs).not.toContain(phone);
        expect(logs).not.toContain("sm_test_fake_key");
      }
      console.info(`linux/${arch}: podman run → first /healthz ${Math.round(gateway.startupMs)} ms`);
    }, 120_000);

    test("with the console provider: the code from the container's log verifies", async () => {
      const gateway = await host.start({ arch, env: { OTP_PROVIDER: "console" } });
      try {
        await roundTrip(gateway.url, "+919876502101", (verificationId) =>
          gateway.consoleCode(verificationId),
        );
      } finally {
        expect((await gateway.stop(10)).exitCode).toBe(0);
      }
    }, 120_000);
  });
}
