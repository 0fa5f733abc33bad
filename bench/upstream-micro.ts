// In-process CPU cost of one upstream send: the gateway's StartMessaging client against a bare
// `fetch` + `res.json()` of the same request (the floor's upstream call), and the bare fetch with
// the client's fetch options. The fake upstream runs in a process of its own, so its work is not
// counted. Interleaved over several rounds; medians of CPU µs per call (all threads of this process).
//   bun bench/upstream-micro.ts [--rounds 5] [--n 20000] [--concurrency 32]
import { median } from "../scripts/lib/local";
import { StartMessagingProvider } from "../src/adapters/sms/startmessaging";
import { createLogger } from "../src/observability/logger";
import { must } from "../test/support/given";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const ROUNDS = option("rounds", 5);
const N = option("n", 20_000);
const CONCURRENCY = option("concurrency", 32);

// The fake upstream prints its port on its first line.
const upstream = Bun.spawn(["bun", new URL("./fake-upstream.ts", import.meta.url).pathname], {
  env: { ...process.env, PORT: "0" },
  stdout: "pipe",
});
const { value } = await upstream.stdout.getReader().read();
const base = `http://127.0.0.1:${Number(new TextDecoder().decode(value).trim())}`;

const provider = new StartMessagingProvider({
  baseUrl: base,
  apiKey: "sm_micro",
  timeoutMs: 5_000,
  retries: 0,
  retryBackoffMs: 100,
  codeLength: 6,
  ttlMs: 300_000,
  maxAttempts: 3,
  logger: createLogger({ level: "warn" }),
});
const body = JSON.stringify({
  phoneNumber: "+919876543210",
  variables: { otp: "123456" },
  idempotencyKey: "k",
});
const post = (init: RequestInit = {}) =>
  fetch(`${base}/otp/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    ...init,
  }).then((r) => r.json());
const subjects: Record<string, () => Promise<unknown>> = {
  "bare fetch + json()": () => post(),
  "+ the client's four headers": () =>
    post({
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "accept-encoding": "identity",
        "x-api-key": "sm_micro",
      },
    }),
  "+ AbortSignal.timeout": () => post({ signal: AbortSignal.timeout(5_000) }),
  "+ redirect manual, no decompression": () => post({ redirect: "manual", decompress: false } as RequestInit),
  "the gateway's client (StartMessagingProvider.send)": () =>
    provider.send({ phone: "+919876543210", idempotencyKey: "k" }),
};

/** CPU µs per call of `N` calls, `CONCURRENCY` at a time. */
async function cpuPerCall(call: () => Promise<unknown>): Promise<number> {
  let left = N;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

try {
  for (const call of Object.values(subjects)) await cpuPerCall(call); // JSC compiles the hot code first
  const samples = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const entries = Object.entries(subjects);
    for (const [name, call] of round % 2 ? entries.reverse() : entries) {
      const value = await cpuPerCall(call);
      samples.set(name, [...(samples.get(name) ?? []), value]);
    }
  }
  const bare = median(must(samples.get("bare fetch + json()"), "the bare fetch's samples"));
  for (const [name, values] of samples) {
    const mid = median(values);
    console.log(
      `${name.padEnd(52)} ${mid.toFixed(1).padStart(6)} µs CPU/call  (${(mid - bare >= 0 ? "+" : "") + (mid - bare).toFixed(1)} µs; rounds ${values.map((v) => v.toFixed(0)).join(", ")})`,
    );
  }
} finally {
  upstream.kill();
}
