import { join } from "node:path";
import { freePort, privateRedisArgs, sh, waitHealthy, writeResults } from "../scripts/lib/local";
import { EnvSchema } from "../src/config/schema";
import { parseDuration } from "../src/lib/duration";
import { must } from "../test/support/given";
import { live, liveReport } from "./pumping-live";
import { type Actor, type PlannedSend, plan, type SimShape } from "./pumping-sim";

const ROOT = new URL("..", import.meta.url).pathname;
const SMOKE = process.argv.includes("--smoke");
const SHAPE: SimShape = SMOKE
  ? { compression: 120, simHours: 0.5, users: 150, attackStartMin: 5, rates: { A: 10, B: 10, C: 2 } }
  : { compression: 120, simHours: 4, users: 3000, attackStartMin: 30, rates: { A: 20, B: 20, C: 3 } };
const F = SHAPE.compression;

/** A setting's shipped default with every duration divided by the compression factor. */
function scaled(name: keyof typeof EnvSchema.properties): string {
  const text = String(EnvSchema.properties[name].default);
  return text.replace(
    /([0-9]+)(ms|s|m|h|d)\b/g,
    (all) => `${Math.max(1, Math.round(must(parseDuration(all), `a duration, not ${all}`) / F))}ms`,
  );
}

const OTP_TTL = scaled("OTP_TTL");
/** The same defaults in every mode; only the guard's own switches differ. */
const BASE: Record<string, string> = {
  OTP_TTL,
  PHONE_SEND_LIMITS: scaled("PHONE_SEND_LIMITS"),
  PHONE_VERIFY_LIMITS: scaled("PHONE_VERIFY_LIMITS"),
  IP_SEND_LIMITS: scaled("IP_SEND_LIMITS"),
  IP_VERIFY_LIMITS: scaled("IP_VERIFY_LIMITS"),
  PUMPING_WINDOW: scaled("PUMPING_WINDOW"),
  PUMPING_BLOCK: scaled("PUMPING_BLOCK"),
  PUMPING_BLOCK_MAX: scaled("PUMPING_BLOCK_MAX"),
  PUMPING_UNPROVEN_WINDOW: scaled("PUMPING_UNPROVEN_WINDOW"),
  RETURNING_USERS: scaled("RETURNING_USERS"),
  // Sized as the README says, a few times the legitimate peak (here ~825 sends an hour): the default
  // (1 000 an hour) is for a small install and below this simulated app's own traffic.
  SEND_BUDGETS: `*=2500/${Math.round(3_600_000 / F)}ms,*=25000/${Math.round(86_400_000 / F)}ms`,
};
const MODES: [string, Record<string, string>][] = [
  // Off: the gateway as it was before the spend guard: no subnet tiers, no budget, no pumping guard.
  [
    "off",
    {
      PUMPING_GUARD: "off",
      SEND_BUDGETS: "off",
      IPV4_SUBNET_SEND_LIMITS: "off",
      IPV6_SUBNET_SEND_LIMITS: "off",
    },
  ],
  [
    "monitor",
    {
      PUMPING_GUARD: "monitor",
      IPV4_SUBNET_SEND_LIMITS: scaled("IPV4_SUBNET_SEND_LIMITS"),
      IPV6_SUBNET_SEND_LIMITS: scaled("IPV6_SUBNET_SEND_LIMITS"),
    },
  ],
  [
    "enforce",
    {
      PUMPING_GUARD: "enforce",
      IPV4_SUBNET_SEND_LIMITS: scaled("IPV4_SUBNET_SEND_LIMITS"),
      IPV6_SUBNET_SEND_LIMITS: scaled("IPV6_SUBNET_SEND_LIMITS"),
    },
  ],
];

/** The fake upstream: counts every SMS by the actor it was for, and knows each code. */
function upstream(ttlMs: number) {
  const codes = new Map<string, string>();
  const delivered = new Map<string, number>();
  let actorOf = new Map<string, Actor>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = (await request.json()) as { phoneNumber?: string; requestId?: string; otpCode?: string };
      if (new URL(request.url).pathname === "/otp/send") {
        const requestId = crypto.randomUUID();
        codes.set(requestId, String(100_000 + Math.floor(Math.random() * 900_000)));
        const actor = actorOf.get(body.phoneNumber ?? "") ?? "legit";
        delivered.set(actor, (delivered.get(actor) ?? 0) + 1);
        return Response.json({
          data: { requestId, expiresAt: new Date(Date.now() + ttlMs).toISOString(), attemptsLeft: 3 },
        });
      }
      return Response.json({ data: { verified: codes.get(body.requestId ?? "") === body.otpCode } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    codes,
    delivered,
    reset(actors: Map<string, Actor>) {
      codes.clear();
      delivered.clear();
      actorOf = actors;
    },
    stop: () => server.stop(true),
  };
}

interface Outcome {
  actor: Actor;
  status: number;
  /** The problem code, or for a 429 the deciding policy's scope (`ip`, `subnet`, `phone`). */
  cause: string;
  /** ms from the start. */
  at: number;
}

async function run(
  mode: string,
  env: Record<string, string>,
  sends: PlannedSend[],
  fake: ReturnType<typeof upstream>,
) {
  const port = await freePort();
  const gateway = Bun.spawn([join(ROOT, "dist/otp-gateway")], {
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      TRUST_PROXY: "1",
      ...env,
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitHealthy(port);
  fake.reset(new Map(sends.map((s) => [s.phone, s.actor])));
  const base = `http://127.0.0.1:${port}/v1/otp`;
  const outcomes: Outcome[] = [];
  let verified = 0;
  const started = performance.now();
  const post = (path: string, body: unknown, ip: string) =>
    fetch(`${base}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify(body),
    });
  const send = async (s: PlannedSend): Promise<string | undefined> => {
    const res = await post("send", { phone: s.phone }, s.ip);
    const json = (await res.json()) as { verificationId?: string; code?: string };
    const policy = res.headers.get("ratelimit")?.match(/^"([a-z]+)-/)?.[1];
    outcomes.push({
      actor: s.actor,
      status: res.status,
      cause: res.status === 429 ? (policy ?? "upstream") : (json.code ?? "sent"),
      at: performance.now() - started,
    });
    return res.status === 200 ? json.verificationId : undefined;
  };
  const verify = async (s: PlannedSend, requestId: string) => {
    // The user reads the SMS the upstream sent for the upstream's id, which the gateway's carries after its tag.
    const code = fake.codes.get(requestId.slice(requestId.indexOf(".") + 1));
    const res = await post("verify", { verificationId: requestId, code }, s.ip);
    if (((await res.json()) as { verified?: boolean }).verified) verified++;
  };
  const flow = async (s: PlannedSend) => {
    let id = await send(s);
    if (!id || s.verifyAfter === undefined) return;
    if (s.resendAfter !== undefined) {
      await Bun.sleep(s.resendAfter);
      id = (await send(s)) ?? id;
    }
    await Bun.sleep(s.verifyAfter);
    await verify(s, id);
  };
  const inFlight: Promise<void>[] = [];
  for (const s of sends) {
    const wait = s.at - (performance.now() - started);
    if (wait > 1) await Bun.sleep(wait);
    inFlight.push(flow(s).catch(() => undefined));
  }
  await Promise.all(inFlight);
  gateway.kill("SIGTERM");
  await gateway.exited;
  return { mode, outcomes, verified, delivered: new Map(fake.delivered) };
}

try {
  if (!process.argv.includes("--no-build")) await sh(["bash", "scripts/build.sh"], ROOT);
  const redisPort = await freePort();
  const redis = Bun.spawn(privateRedisArgs(redisPort, "--databases", "16"), { stdout: "ignore" });
  await Bun.sleep(300);
  const fake = upstream(must(parseDuration(OTP_TTL), `OTP_TTL, a duration, not ${OTP_TTL}`));
  const sends = plan(SHAPE);
  const results = [];
  try {
    for (const [mode, env] of MODES) {
      await sh(["redis-cli", "-p", String(redisPort), "flushall"], ROOT);
      const r = await run(
        mode,
        {
          ...BASE,
          ...env,
          STARTMESSAGING_API_KEY: "sm_bench",
          STARTMESSAGING_BASE_URL: fake.url,
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        },
        sends,
        fake,
      );
      results.push(r);
      console.log(
        `${mode}: attack SMS ${["A", "B", "C"].map((a) => r.delivered.get(a as Actor) ?? 0).join("/")}, legit SMS ${r.delivered.get("legit") ?? 0}`,
      );
    }
    report(results, sends);
    // Then in real time, from a cold start (bench/pumping-live.ts).
    await sh(["redis-cli", "-p", String(redisPort), "flushall"], ROOT);
    const realTime = await live(redisPort);
    writeResults(
      ROOT,
      SMOKE ? "pumping-live-smoke" : "pumping-live",
      { date: new Date().toISOString(), ...realTime },
      liveReport(realTime),
    );
  } finally {
    redis.kill("SIGKILL");
    fake.stop();
  }
} catch (err) {
  console.error(err);
  process.exit(1);
}

function report(results: Awaited<ReturnType<typeof run>>[], sends: PlannedSend[]): void {
  const simMin = (ms: number) => Math.round(((ms * F) / 60_000) * 10) / 10;
  const attackStart = (SHAPE.attackStartMin * 60_000) / F;
  const attackSms = (r: (typeof results)[number]) =>
    ["A", "B", "C"].reduce((n, a) => n + (r.delivered.get(a as Actor) ?? 0), 0);
  const off = attackSms(must(results[0], "the run without the guard"));
  const rows = results.map((r) => {
    const legit = r.outcomes.filter((o) => o.actor === "legit");
    const refusedBy = (causes: string[]) => legit.filter((o) => causes.includes(o.cause)).length;
    const attackSent = r.outcomes.filter((o) => o.actor !== "legit" && o.status === 200).map((o) => o.at);
    const last = attackSent.length ? Math.max(...attackSent) : attackStart;
    const runEnd = Math.max(...r.outcomes.map((o) => o.at));
    const contained = last < runEnd - (runEnd - attackStart) * 0.1;
    return {
      mode: r.mode,
      attack_sms: {
        A: r.delivered.get("A") ?? 0,
        B: r.delivered.get("B") ?? 0,
        C: r.delivered.get("C") ?? 0,
        total: attackSms(r),
      },
      attack_sms_vs_off: off ? Math.round((attackSms(r) / off) * 1000) / 1000 : 0,
      attack_sends: r.outcomes.filter((o) => o.actor !== "legit").length,
      attack_sms_share_percent:
        Math.round(
          (attackSms(r) / Math.max(1, r.outcomes.filter((o) => o.actor !== "legit").length)) * 10_000,
        ) / 100,
      legit_sends: legit.length,
      legit_sms: r.delivered.get("legit") ?? 0,
      legit_verified: r.verified,
      legit_refused_by_pumping_guard: refusedBy(["DESTINATION_BLOCKED"]),
      legit_refused_by_budget: refusedBy(["SEND_BUDGET_EXHAUSTED"]),
      legit_refused_by_subnet_tier: refusedBy(["subnet"]),
      legit_refused_by_other_limits: refusedBy(["ip", "phone", "verify"]),
      containment_sim_minutes: contained ? simMin(last - attackStart) : null,
    };
  });
  const json = {
    date: new Date().toISOString(),
    shape: SHAPE,
    settings: BASE,
    modes: Object.fromEntries(MODES),
    planned_sends: sends.length,
    rows,
  };
  const md = [
    `Run ${json.date.slice(0, 16)}Z; ${SHAPE.simHours} simulated hours at ${F}× (1 real second = ${F / 60} simulated minutes); every duration of the gateway divided by ${F}.`,
    `${SHAPE.users} legitimate users (30 % behind 40 CGNAT addresses, 20 % IPv6, 5 % never verify, 10 % ask again); attacks from minute ${SHAPE.attackStartMin}: A one IPv6 /48 rotating /64s over 3 blocks (${SHAPE.rates.A}/s real), B random IPv4 over 20 blocks of one operator (${SHAPE.rates.B}/s), C 200 addresses under every per-address limit over 5 blocks (${SHAPE.rates.C}/s).`,
    "",
    "| guard | attack SMS (A / B / C) | vs off | of attack sends | legit sends | legit SMS | legit verified | refused by pumping guard | by budget | by subnet tier | by other limits | containment (sim min) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.attack_sms.total} (${r.attack_sms.A} / ${r.attack_sms.B} / ${r.attack_sms.C}) | ${r.attack_sms_vs_off} | ${r.attack_sms_share_percent} % | ${r.legit_sends} | ${r.legit_sms} | ${r.legit_verified} | ${r.legit_refused_by_pumping_guard} | ${r.legit_refused_by_budget} | ${r.legit_refused_by_subnet_tier} | ${r.legit_refused_by_other_limits} | ${r.containment_sim_minutes ?? "not contained"} |`,
    ),
    "",
    "Targets (enforce, defaults): attack SMS ≤ 1 % of the attack's sends; 0 legitimate sends refused by the pumping guard.",
  ].join("\n");
  writeResults(ROOT, SMOKE ? "pumping-smoke" : "pumping", json, md);
}
