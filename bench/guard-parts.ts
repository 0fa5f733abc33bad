// The spend guard's parts, in process (no HTTP): N sends through OtpService on the Redis at
// 127.0.0.1:6379 (database 12, flushed first), 32 at a time, with a provider that answers at once.
// Prints the gateway's CPU per send and Redis's own CPU per send (INFO commandstats).
//   bun bench/guard-parts.ts <off|budget|pump|on> [N]
//   off: no guard; budget: the budget only; pump: the pumping guard only; on: both;
//   no-ranges: both, PUMPING_RANGE_DROP=0. FULL_BUDGET=1 first fills the budget's last hour with a
//   count in every bucket, as a budget in steady use has (its script then reads 60 buckets a send).
//   BUSY_RANGE=1 sends to one range only (+9198765…), its hash first filled as a day of steady,
//   verified traffic leaves it: every fine and coarse bucket of sends and of verifies.

import { Redis } from "ioredis";
import { RedisStore } from "../src/adapters/store/redis/index";
import { buildServices } from "../src/composition-root";
import { loadConfig } from "../src/config/index";
import { OtpService } from "../src/modules/otp/service";
import { createLogger } from "../src/observability/logger";
import { must } from "../test/support/given";

const logger = createLogger({ level: "silent" });
const mode = process.argv[2] ?? "on";
const N = Number(process.argv[3] ?? 20000);
const off = {
  SEND_BUDGETS: "off",
  PUMPING_GUARD: "off",
  IPV4_SUBNET_SEND_LIMITS: "off",
  IPV6_SUBNET_SEND_LIMITS: "off",
};
const env: Record<string, string> = {
  PHONE_SEND_LIMITS: "10000/1h",
  SEND_BUDGETS: "*=100000000/1h",
  // The bounds on unproven sends counted and checked on every send, never reached by codes nobody verifies.
  PUMPING_UNPROVEN_BLOCK: "1000000",
  PUMPING_UNPROVEN_RANGE: "1000000",
  ...(mode === "off" ? off : {}),
  ...(mode === "budget" ? { PUMPING_GUARD: "off" } : {}),
  ...(mode === "pump" ? { SEND_BUDGETS: "off" } : {}),
  ...(mode === "no-ranges" ? { PUMPING_RANGE_DROP: "0" } : {}),
};
const config = loadConfig(env);
const deps = buildServices(config, logger);
const layout = { dropDigits: config.PUMPING_PREFIX_DROP, rangeDropDigits: config.PUMPING_RANGE_DROP };
const store = new RedisStore({ url: "redis://127.0.0.1:6379/12", commandTimeoutMs: 1000, logger, layout });
await store.connected(2000);
const admin = new Redis("redis://127.0.0.1:6379/12");
await admin.flushdb();
if (process.env.FULL_BUDGET === "1") {
  const budget = must(
    deps.policy.sendBudgets.find((b) => b.scope === "*"),
    "a `*` budget in SEND_BUDGETS",
  );
  const { bucketMs } = must(budget.windows[0], "a window of the `*` budget");
  const now = Math.floor(Date.now() / bucketMs);
  const fields = Array.from({ length: 60 }, (_, i) => [`1:${now - 59 + i}`, "1"]).flat();
  await admin.hset("otp:budget:{*}", ...fields);
  await admin.pexpire("otp:budget:{*}", 7_200_000);
}
let n = 0;
const provider = {
  name: "console" as const,
  health: async () => ({ ok: true, detail: "" }),
  verify: async () => ({ verified: true as const }),
  send: async () => ({
    requestId: crypto.randomUUID(),
    expiresAt: new Date(Date.now() + 300000),
    attemptsLeft: 3,
  }),
};
const svc = new OtpService({ ...deps, provider, store, logger });
const busy = process.env.BUSY_RANGE === "1";
const phone = busy
  ? () => `+9198765${String(Math.floor(Math.random() * 100000)).padStart(5, "0")}`
  : () => `+9198${String(10000000 + Math.floor(Math.random() * 89999999))}`;
if (busy) {
  const { bucketMs } = deps.policy.pumping;
  const fine = Math.floor(Date.now() / bucketMs);
  const coarse = Math.floor(fine / 60);
  const fields: string[] = [];
  for (let i = 0; i < 60; i++) fields.push(`s:${fine - i}`, "50", `v:${fine - i}`, "45");
  for (let i = 1; i <= 24; i++) fields.push(`S:${coarse - i}`, "3000", `V:${coarse - i}`, "2700");
  await admin.hset("otp:pump:{+9198765}", ...fields);
  await admin.pexpire("otp:pump:{+9198765}", 86_400_000);
}
async function run(count: number) {
  const c = 32;
  let i = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (i++ < count) await svc.send(phone(), undefined).catch(() => n++);
    }),
  );
}
await run(3000);
await admin.config("RESETSTAT");
const t0 = process.cpuUsage();
const w0 = performance.now();
await run(N);
const t1 = process.cpuUsage(t0);
const w1 = performance.now();
const stats = String(await admin.info("commandstats"));
const redisUs = [...stats.matchAll(/usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
console.log(
  `${mode}: gateway CPU ${((t1.user + t1.system) / N).toFixed(1)} µs/send, Redis CPU ${(redisUs / N).toFixed(1)} µs/send, ` +
    `wall ${(w1 - w0).toFixed(0)} ms, refused ${n}`,
);
await store.close();
admin.disconnect();
