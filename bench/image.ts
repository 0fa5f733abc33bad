// The container image's figures, per architecture: its size compressed (gzip layers, as a
// registry stores them by default; zstd -19 beside) and unpacked, podman run → first /healthz, and the resident
// memory of the gateway inside the container once idle. Writes them into docs/operations.md.
//   bun run bench:image [--runs N]
// Builds both images with scripts/image.sh into a private container storage (root, buildah,
// podman, skopeo: scripts/setup.sh installs them). The arm64 image runs under qemu-user here, so
// its start-up and memory are the emulator's, not an arm64 machine's: read them as an upper bound.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ARCHES,
  type Arch,
  type Container,
  ContainerHost,
  containerToolsMissing,
} from "../scripts/lib/containers";
import { median, numberFlag, writeBetweenMarkers, writeResults } from "../scripts/lib/local";

const ROOT = new URL("..", import.meta.url).pathname;
const runs = numberFlag("runs", 5);
const MB = 1e6;

const missing = containerToolsMissing();
if (missing.length > 0) {
  console.error(`bench:image needs ${missing.join(", ")}`);
  process.exit(1);
}

interface Layers {
  /** Bytes of each layer as the registry would store it, base first. */
  layers: number[];
  total: number;
}

/** The image's layers compressed with `format`, as `skopeo copy` writes them into an OCI layout. */
async function compressed(host: ContainerHost, arch: Arch, format: "gzip" | "zstd"): Promise<Layers> {
  const dir = join(host.dir, `oci-${arch}-${format}`);
  const ran = await host.exec([
    "skopeo",
    "copy",
    "--quiet",
    "--dest-compress-format",
    format,
    // zstd at the highest level skopeo offers; gzip at its default, as registries get it.
    ...(format === "zstd" ? ["--dest-compress-level", "19"] : []),
    `containers-storage:localhost/${host.tag(arch)}`,
    `oci:${dir}:image`,
  ]);
  if (ran.code !== 0) throw new Error(`skopeo copy: ${ran.stderr}`);
  const blob = (digest: string) => join(dir, "blobs", ...digest.split(":"));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ""), "utf8")) as {
    layers: { size: number }[];
  };
  const layers = manifest.layers.map((layer) => layer.size);
  return { layers, total: layers.reduce((a, b) => a + b, 0) };
}

/** One send and verify through the console provider, so the figures are of a gateway that has served. */
async function serveOnce(gateway: Container): Promise<void> {
  const post = (path: string, body: unknown) =>
    fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const { verificationId } = (await (await post("/v1/otp/send", { phone: "+919876503001" })).json()) as {
    verificationId: string;
  };
  await post("/v1/otp/verify", { verificationId, code: await gateway.consoleCode(verificationId) });
}

async function measure(host: ContainerHost, arch: Arch) {
  const startups: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const gateway = await host.start({ arch, env: { OTP_PROVIDER: "console" } });
    startups.push(gateway.startupMs);
    await serveOnce(gateway);
    // Past the gateway's idle release (5 s idle), as docs/operations.md's binary figures.
    await Bun.sleep(8_000);
    rss.push(Number.parseInt((await gateway.status()).VmRSS ?? "", 10) / 1024);
    await gateway.stop();
  }
  const image = await host.inspect(arch);
  const [gzip, zstd] = [await compressed(host, arch, "gzip"), await compressed(host, arch, "zstd")];
  return { arch, unpacked: image.Size, gzip, zstd, startupMs: median(startups), idleRssMiB: median(rss) };
}

const host = new ContainerHost();
try {
  const built = performance.now();
  await host.build();
  const buildSeconds = (performance.now() - built) / 1000;
  const results = [];
  for (const arch of ARCHES) results.push(await measure(host, arch));

  const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const rows = results.map((r) =>
    [
      `linux/${r.arch}${r.arch === "arm64" ? " (under qemu-user)" : ""}`,
      `${mb(r.gzip.total)} (base ${mb(r.gzip.layers[0] ?? 0)}, binary ${mb(r.gzip.layers.at(-1) ?? 0)})`,
      mb(r.zstd.total),
      mb(r.unpacked),
      `${Math.round(r.startupMs)} ms`,
      `${r.idleRssMiB.toFixed(1)} MiB`,
    ].join(" | "),
  );
  const table = [
    `Measured by \`bun run bench:image\` on ${new Date().toISOString().slice(0, 10)} (bun ${Bun.version}, buildah and podman from Debian 12, runc); medians of ${runs} starts; both images built in ${buildSeconds.toFixed(0)} s.`,
    "",
    "| image | compressed, gzip (as pushed) | zstd (skopeo, level 19) | unpacked | podman run → first /healthz | idle RSS in the container |",
    "|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
    "",
    "Start-up counts podman's own work (about 0.2 s here) and the console provider with the memory store; idle RSS is the gateway's process 8 s after one send and verify. Under qemu both are the emulator's.",
  ].join("\n");
  writeResults(ROOT, "image", { runs, buildSeconds, results }, table);
  writeBetweenMarkers(join(ROOT, "docs/operations.md"), "image-figures", table);
} finally {
  await host.dispose();
}
