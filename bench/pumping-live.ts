// The spend guard as an operator meets an attack: in real time, from a cold start (no history, an
// empty Redis), on the shipped defaults (codes live OTP_TTL, the bounds count over an hour), against
// a fake upstream that counts every SMS. Part of `bun run bench:pumping`; alone: `bun bench/pumping-live.ts`.
//
// Two parts:
// - attacks: each of four attackers runs against its own gateway beside legitimate users, once with
//   budgets sized at a few times the legitimate peak and once on the default budgets, all at once;
// - attacks on real users: what it costs to get a block's, a range's and a country's new users
//   refused, and what an upstream outage, a safe-listed block and an attacker who verifies do.
import { join } from "node:path";
import { Redis } from "ioredis";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import {
  freePort,
  privateRedisArgs,
  seededRandom,
  sh,
  waitHealthy,
  writeResults,
} from "../scripts/lib/local";

const ROOT = new URL("..", import.meta.url).pathname;
const SMOKE = process.argv.includes("--smoke");
/** How long each attack run lasts, and when its attack begins. */
const RUN_S = SMOKE ? 15 : 660;
const ATTACK_AT_S = SMOKE ? 3 : 30;
/** New legitimate users a second (about 540 an hour). */
const LEGIT_RATE = 0.15;
const SIZED_BUDGETS = "*=2000/1h,*=20000/24h";
/** When a returning user asks again: past the phone's 1/1m window (the smoke run opens that window instead). */
const RETURN_AFTER_MS = SMOKE ? 0 : 61_000;
const SMOKE_PHONE_LIMITS: Record<string, string> = SMOKE ? { PHONE_SEND_LIMITS: "10/1m" } : {};

/** The fake upstream: every SMS with the time it went and the number it went to; each code. */
class Upstream {
  readonly codes = new Map<string, string>();
  readonly sms: { phone: string; at: number }[] = [];
  /** While set, every send answers 503 (an outage). */
  down = false;
  readonly #server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const body = (await request.json()) as { phoneNumber?: string; requestId?: string; otpCode?: string };
      if (new URL(request.url).pathname !== "/otp/send") {
        return Response.json({ data: { verified: this.codes.get(body.requestId ?? "") === body.otpCode } });
      }
      if (this.down) return new Response("down", { status: 503 });
      const requestId = crypto.randomUUID();
      this.codes.set(requestId, String(100_000 + Math.floor(Math.random() * 900_000)));
      this.sms.push({ phone: body.phoneNumber ?? "", at: performance.now() });
      return Response.json({
        data: { requestId, expiresAt: new Date(Date.now() + 300_000).toISOString(), attemptsLeft: 3 },
      });
    },
  });
  readonly url = `http://127.0.0.1:${this.#server.port}`;

  /** The code the SMS behind a gateway's verification id carried (the upstream's id follows the tag). */
  codeFor(requestId: string): string | undefined {
    return this.codes.get(requestId.slice(requestId.indexOf(".") + 1));
  }

  stop(): void {
    this.#server.stop(true);
  }
}

/** One gateway (the compiled binary) on the shipped defaults but `env`; its request lines' rules by request id. */
class Gateway {
  readonly rules = new Map<string, string>();
  readonly alerts: { msg: string; at: number }[] = [];
  #proc?: ReturnType<typeof Bun.spawn>;
  base = "";

  /** Starts the gateway on a free port; again on another if it exits first (the port was taken meanwhile). */
  async start(env: Record<string, string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const proc = Bun.spawn([join(ROOT, "dist/otp-gateway")], {
        env: {
          PATH: process.env.PATH ?? "",
          HOST: "127.0.0.1",
          PORT: String(port),
          TRUST_PROXY: "1",
          ...env,
        },
        stdout: "pipe",
        stderr: "ignore",
      });
      this.#proc = proc;
      void this.#read(proc.stdout as ReadableStream<Uint8Array>);
      const healthy = waitHealthy(port, 20_000).then(
        () => true,
        () => false,
      );
      if (await Promise.race([healthy, proc.exited.then(() => false)])) {
        this.base = `http://127.0.0.1:${port}`;
        return;
      }
      proc.kill("SIGKILL");
      await healthy; // its polling ends before the next attempt's starts
      if (attempt === 3) throw new Error(`the gateway did not answer /healthz, ${attempt} times`);
    }
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      const lines = (rest + decoder.decode(bytes, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as { msg?: string; level?: string; requestId?: string; rule?: string };
        if (entry.msg === "request" && entry.requestId && entry.rule)
          this.rules.set(entry.requestId, entry.rule);
        if (entry.level === "error" && entry.msg) this.alerts.push({ msg: entry.msg, at: performance.now() });
      }
    }
  }

  /** A POST from `ip` (X-Forwarded-For, one trusted proxy): the status, the body, the rule that refused. */
  async post(path: string, body: unknown, ip: string) {
    const res = await fetch(`${this.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { verificationId?: string; code?: string; verified?: boolean };
    const scope = res.headers.get("ratelimit")?.match(/^"([a-z-]+)-/)?.[1];
    return { status: res.status, json, requestId: res.headers.get("x-request-id") ?? "", scope };
  }

  async stop(): Promise<void> {
    this.#proc?.kill("SIGTERM");
    await this.#proc?.exited;
  }
}

const mobileOr = (phone: string): string => {
  if (parsePhoneNumberFromString(phone)?.getType() !== "MOBILE") throw new Error(`${phone} is not a mobile`);
  return phone;
};

type Answer = Awaited<ReturnType<Gateway["post"]>>;

/**
 * Why a send was refused: the guard's rule from the request line, else the limit's scope or the
 * code. Asked once the run is over: a request line may be read after its answer.
 */
function cause(gw: Gateway, answer: Answer): string {
  if (answer.status === 200) return "sent";
  if (answer.status === 429) return `limit:${answer.scope ?? "upstream"}`;
  return gw.rules.get(answer.requestId) ?? answer.json.code ?? String(answer.status);
}

interface LegitOutcome {
  at: number;
  returning: boolean;
  answer: Answer;
}

/**
 * Legitimate users, from a seeded generator: mobiles all over the Indian plan, 30 % behind 40
 * carrier-grade NAT addresses, 20 % on IPv6; 95 % verify 5–60 s after the code, and 10 % of those
 * sign in again 1–3 minutes later (a returning user by then).
 */
async function legitimate(gw: Gateway, up: Upstream, until: number, seed: number): Promise<LegitOutcome[]> {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const outcomes: LegitOutcome[] = [];
  const address = () => {
    const kind = rnd();
    if (kind < 0.3) return `49.36.${10 + int(4)}.${1 + int(10)}`;
    if (kind < 0.5) return `2401:4900:${int(65_536).toString(16)}:${int(65_536).toString(16)}::1`;
    return `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`;
  };
  const mobile = () => {
    for (;;) {
      const phone = `+91${6 + int(4)}${String(int(1e9)).padStart(9, "0")}`;
      if (parsePhoneNumberFromString(phone)?.getType() === "MOBILE") return phone;
    }
  };
  const signIn = async (
    phone: string,
    ip: string,
    returning: boolean,
    verifies: boolean,
  ): Promise<boolean> => {
    const sent = await gw.post("/v1/otp/send", { phone }, ip);
    outcomes.push({ at: performance.now(), returning, answer: sent });
    const delay = 5_000 + rnd() * 55_000;
    // Past the run's end nobody waits for the code.
    if (sent.status !== 200 || !verifies || performance.now() + delay > until) return false;
    await Bun.sleep(delay);
    const id = sent.json.verificationId ?? "";
    const verified = await gw.post("/v1/otp/verify", { verificationId: id, code: up.codeFor(id) }, ip);
    return verified.json.verified === true;
  };
  const users: Promise<void>[] = [];
  while (performance.now() < until) {
    const [phone, ip, verifies, again] = [mobile(), address(), rnd() >= 0.05, rnd() < 0.1];
    users.push(
      (async () => {
        const later = 60_000 + rnd() * 120_000;
        if (!(await signIn(phone, ip, false, verifies)) || !again || performance.now() + later > until)
          return;
        await Bun.sleep(later);
        await signIn(phone, ip, true, true);
      })().catch(() => undefined),
    );
    await Bun.sleep((-Math.log(1 - rnd()) / LEGIT_RATE) * 1000);
  }
  await Promise.all(users);
  return outcomes;
}

/** An attacker: fresh numbers of its blocks, in turn, at `rate` a second, from `ipOf(n)`; verifies one code in `verifyOneIn`. */
interface Attacker {
  name: string;
  what: string;
  blocks: string[];
  rate: number;
  ipOf: (n: number, rnd: () => number) => string;
  verifyOneIn?: number;
}

const randomV4 = (_: number, rnd: () => number) =>
  `${11 + Math.floor(rnd() * 180)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`;

const ATTACKERS: Attacker[] = [
  {
    name: "A",
    what: "one IPv6 /48 rotating /64s, 3 blocks, 20/s",
    blocks: ["+919820101", "+919820102", "+919820103"],
    rate: 20,
    ipOf: (n) => `2001:db8:a77a:${(n % 65_536).toString(16)}::1`,
  },
  {
    name: "B",
    what: "thousands of IPv4 addresses (1 in 10 a carrier-grade NAT address real users share), 20 blocks of one operator, 20/s",
    blocks: Array.from({ length: 20 }, (_, i) => `+9198765${10 + i}`),
    rate: 20,
    ipOf: (n, rnd) => (n % 10 === 0 ? `49.36.${10 + (n % 4)}.${1 + (n % 10)}` : randomV4(n, rnd)),
  },
  {
    name: "C",
    what: "slow, under every per-address limit: 200 addresses in 200 /24s, 5 blocks, 3/s",
    blocks: ["+919930101", "+919930102", "+919930103", "+919930104", "+919930105"],
    rate: 3,
    ipOf: (n) => `203.${n % 200}.7.9`,
  },
  {
    name: "V",
    what: "receives and verifies one code in ten: thousands of IPv4 addresses, 20 blocks, 20/s",
    blocks: Array.from({ length: 20 }, (_, i) => `+9198880${10 + i}`),
    rate: 20,
    ipOf: randomV4,
    verifyOneIn: 10,
  },
];

/** The attack's sends and when; the SMS are counted at the upstream, by their numbers' blocks. */
async function attack(gw: Gateway, up: Upstream, attacker: Attacker, until: number) {
  const rnd = seededRandom(attacker.name.charCodeAt(0));
  const started = performance.now();
  const answers: Answer[] = [];
  const times: number[] = [];
  const inFlight: Promise<void>[] = [];
  for (let n = 0; performance.now() < until; n++) {
    times.push(performance.now());
    const block = attacker.blocks[n % attacker.blocks.length] ?? "";
    const phone = `${block}${String(Math.floor(n / attacker.blocks.length) % 1000).padStart(3, "0")}`;
    const ip = attacker.ipOf(n, rnd);
    inFlight.push(
      (async () => {
        const sent = await gw.post("/v1/otp/send", { phone }, ip);
        answers.push(sent);
        if (sent.status === 200 && attacker.verifyOneIn && n % attacker.verifyOneIn === 0) {
          const id = sent.json.verificationId ?? "";
          await gw.post("/v1/otp/verify", { verificationId: id, code: up.codeFor(id) }, ip);
        }
      })().catch(() => undefined),
    );
    const due = started + ((n + 1) * 1000) / attacker.rate;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  await Promise.all(inFlight);
  return { started, times, answers };
}

/** One attacker against its own gateway (its own Redis database) beside legitimate users. */
async function attackRun(redisPort: number, db: number, attacker: Attacker, budgets: string | undefined) {
  const up = new Upstream();
  const gw = new Gateway();
  await gw.start({
    STARTMESSAGING_API_KEY: "sm_bench",
    STARTMESSAGING_BASE_URL: up.url,
    REDIS_URL: `redis://127.0.0.1:${redisPort}/${db}`,
    ...(budgets ? { SEND_BUDGETS: budgets } : {}),
  });
  for (const block of attacker.blocks) mobileOr(`${block}000`);
  const started = performance.now();
  const until = started + RUN_S * 1000;
  try {
    const legit = legitimate(gw, up, until, 7 + db);
    await Bun.sleep(ATTACK_AT_S * 1000);
    const attacked = await attack(gw, up, attacker, until);
    return { attacker, budgets: budgets ?? "default", legit: await legit, attacked, up, gw };
  } finally {
    await gw.stop();
    up.stop();
  }
}

function attackRow(run: Awaited<ReturnType<typeof attackRun>>) {
  const { attacker, attacked, up, gw, legit } = run;
  const blocks = new Set(attacker.blocks);
  const attackSms = up.sms.filter((m) => blocks.has(m.phone.slice(0, -3)));
  const after = (ms: number) => attackSms.filter((m) => m.at - attacked.started <= ms).length;
  const perBlock = new Map<string, number>();
  for (const m of attackSms)
    perBlock.set(m.phone.slice(0, -3), (perBlock.get(m.phone.slice(0, -3)) ?? 0) + 1);
  const last = attackSms.length ? Math.max(...attackSms.map((m) => m.at)) : attacked.started;
  const causes = (answers: Answer[]) => {
    const counts = new Map<string, number>();
    for (const why of answers.map((a) => cause(gw, a))) counts.set(why, (counts.get(why) ?? 0) + 1);
    return counts;
  };
  const refusedLegit = causes(legit.map((o) => o.answer));
  refusedLegit.delete("sent");
  const served = (o: LegitOutcome) => o.answer.status === 200;
  const openSpent = gw.alerts.find((a) => a.msg.startsWith("send budget's open share spent"))?.at;
  const afterOpen = openSpent === undefined ? [] : legit.filter((o) => o.at > openSpent);
  const minutes = (m: number) => Math.min(m * 60_000, (RUN_S - ATTACK_AT_S) * 1000);
  const attempts3 = attacked.times.filter((t) => t - attacked.started <= minutes(3)).length;
  return {
    attacker: attacker.name,
    budgets: run.budgets,
    attack_sends: attacked.times.length,
    attack_sms_1m: after(minutes(1)),
    attack_sms_3m: after(minutes(3)),
    attack_sms_10m: after(minutes(10)),
    attack_sms_share_3m: attempts3 ? Math.round((after(minutes(3)) / attempts3) * 1000) / 10 : 0,
    attack_sms_per_block_max: Math.max(0, ...perBlock.values()),
    // The attack's last SMS, in seconds from its start: nothing went out after it.
    seconds_to_containment: Math.round((last - attacked.started) / 100) / 10,
    attack_refused_by: Object.fromEntries(causes(attacked.answers)),
    legit_sends: legit.length,
    legit_sent: legit.filter(served).length,
    legit_refused_by: Object.fromEntries(refusedLegit),
    open_share_spent: openSpent !== undefined,
    returning_served_after_open_share_spent: afterOpen.filter((o) => o.returning && served(o)).length,
    returning_refused_after_open_share_spent: afterOpen.filter((o) => o.returning && !served(o)).length,
  };
}

// ---- attacks on real users: each on a gateway of its own, defaults but what the case sets ----

type Case = { case: string; sms: number; seconds: number; result: string };

async function onGateway<T>(
  redisPort: number,
  db: number,
  env: Record<string, string>,
  run: (gw: Gateway, up: Upstream) => Promise<T>,
): Promise<T> {
  const up = new Upstream();
  const gw = new Gateway();
  await gw.start({
    STARTMESSAGING_API_KEY: "sm_bench",
    STARTMESSAGING_BASE_URL: up.url,
    REDIS_URL: `redis://127.0.0.1:${redisPort}/${db}`,
    ...env,
  });
  try {
    return await run(gw, up);
  } finally {
    await gw.stop();
    up.stop();
  }
}

let addresses = 0;
/** A fresh IPv4 address in a fresh /24 each time: per-address limits never decide these cases. */
const freshIp = () => {
  addresses++;
  return `${20 + Math.floor(addresses / 65_536)}.${Math.floor(addresses / 256) % 256}.${addresses % 256}.1`;
};

/** `count` ranges of Indian mobiles (a number less 5 digits), one of each. */
function mobileRanges(count: number): string[] {
  const ranges: string[] = [];
  for (let a = 60_000; ranges.length < count && a < 100_000; a++) {
    if (parsePhoneNumberFromString(`+91${a}00123`)?.getType() === "MOBILE") ranges.push(`+91${a}`);
  }
  return ranges;
}

/** A real user who signs in now: send, then verify; true when verified. */
async function signIn(gw: Gateway, up: Upstream, phone: string): Promise<boolean> {
  const sent = await gw.post("/v1/otp/send", { phone }, freshIp());
  if (sent.status !== 200) return false;
  const id = sent.json.verificationId ?? "";
  return (
    (await gw.post("/v1/otp/verify", { verificationId: id, code: up.codeFor(id) }, freshIp())).json
      .verified === true
  );
}

/**
 * Whether a returning user's next sign-in is served: once the phone's own window (PHONE_SEND_LIMITS,
 * 1/1m by default) lets it ask again, a minute after `signedIn`.
 */
async function returningServed(gw: Gateway, phone: string, signedIn: number): Promise<boolean> {
  await Bun.sleep(Math.max(0, signedIn + RETURN_AFTER_MS - performance.now()));
  return (await gw.post("/v1/otp/send", { phone }, freshIp())).status === 200;
}

/** Unverified sends to `numbers` in turn until a send to `probe()` (a new number) is refused. */
async function untilRefused(
  gw: Gateway,
  up: Upstream,
  numbers: (n: number) => string,
  probe: () => string,
  max: number,
) {
  const started = performance.now();
  const before = up.sms.length;
  for (let n = 0; n < max; n++) {
    await gw.post("/v1/otp/send", { phone: numbers(n) }, freshIp());
    if (n % 5 === 4) {
      const probed = await gw.post("/v1/otp/send", { phone: probe() }, freshIp());
      // Refused by a guard rule (403) or a budget (503); anything else is the case's own mistake.
      if (probed.status !== 200 && probed.status !== 403 && probed.status !== 503) {
        throw new Error(`a probe got ${probed.status}: ${JSON.stringify(probed.json)}`);
      }
      if (probed.status !== 200) {
        const seconds = (performance.now() - started) / 1000;
        await Bun.sleep(100); // its request line
        return {
          sms: up.sms.length - before,
          seconds,
          refused: cause(gw, probed),
        };
      }
    }
  }
  return { sms: up.sms.length - before, seconds: (performance.now() - started) / 1000, refused: "never" };
}

async function realUserCases(redisPort: number): Promise<Case[]> {
  const cases: Case[] = [];
  const round = (s: number) => Math.round(s * 10) / 10;
  // The cheapest way to get a block's new users refused; its returning user is not.
  cases.push(
    await onGateway(redisPort, 10, SMOKE_PHONE_LIMITS, async (gw, up) => {
      const block = "+919811100";
      const returning = `${block}999`;
      await signIn(gw, up, returning);
      const signedIn = performance.now();
      let probe = 500;
      const r = await untilRefused(
        gw,
        up,
        (n) => `${block}${String(n).padStart(3, "0")}`,
        () => `${block}${probe++}`,
        200,
      );
      const served = await returningServed(gw, returning, signedIn);
      return {
        case: "block: its new users refused",
        sms: r.sms,
        seconds: round(r.seconds),
        result: `refused by ${r.refused}; its returning user ${served ? "served" : "REFUSED"}`,
      };
    }),
  );
  // A range's new users: one code to each block of the range.
  cases.push(
    await onGateway(redisPort, 11, {}, async (gw, up) => {
      const range = "+9170000";
      let probe = 0;
      const r = await untilRefused(
        gw,
        up,
        (n) => `${range}${String(n % 90).padStart(2, "0")}${String(Math.floor(n / 90)).padStart(3, "0")}`,
        () => `${range}9${probe++ % 10}123`,
        500,
      );
      return {
        case: "range: its new users refused",
        sms: r.sms,
        seconds: round(r.seconds),
        result: `refused by ${r.refused}`,
      };
    }),
  );
  // A country's new users: the default budgets' open share, spread one code per range.
  cases.push(
    await onGateway(redisPort, 12, SMOKE_PHONE_LIMITS, async (gw, up) => {
      const returning = "+919811200999";
      await signIn(gw, up, returning);
      const signedIn = performance.now();
      const ranges = mobileRanges(2_500);
      let next = 0;
      const fresh = () => `${ranges[next++ % ranges.length]}00123`;
      const r = await untilRefused(gw, up, fresh, fresh, 2_000);
      const served = await returningServed(gw, returning, signedIn);
      return {
        case: "country: its new users refused (default budgets' open share)",
        sms: r.sms,
        seconds: round(r.seconds),
        result: `refused by ${r.refused}; a returning user ${served ? "served" : "REFUSED"}`,
      };
    }),
  );
  // An outage: 100 failed sends over one range (users pressing "resend"), then recovery.
  cases.push(
    await onGateway(redisPort, 13, { UPSTREAM_RETRIES: "0" }, async (gw, up) => {
      const range = "+9181234";
      up.down = true;
      for (let n = 0; n < 100; n++) {
        await gw.post(
          "/v1/otp/send",
          { phone: `${range}${String(n % 20).padStart(2, "0")}${String(n).padStart(3, "0")}` },
          freshIp(),
        );
      }
      up.down = false;
      let served = 0;
      for (let n = 0; n < 30; n++)
        if (await signIn(gw, up, `${range}${String(n % 20).padStart(2, "0")}9${String(n).padStart(2, "0")}`))
          served++;
      return {
        case: "upstream outage (100 failed sends over one range), then recovery",
        sms: up.sms.length - served,
        seconds: 0,
        result: `${served} of 30 new users of the range served after it`,
      };
    }),
  );
  // A safe-listed block's neighbours.
  cases.push(
    await onGateway(redisPort, 14, { PUMPING_SAFE_LIST: "+918765400" }, async (gw, up) => {
      for (let n = 0; n < 200; n++)
        await gw.post("/v1/otp/send", { phone: `+918765400${String(n).padStart(3, "0")}` }, freshIp());
      const safeSms = up.sms.length;
      let served = 0;
      for (let k = 1; k <= 30; k++)
        if (await signIn(gw, up, `+9187654${String(k).padStart(2, "0")}123`)) served++;
      return {
        case: "a safe-listed block sent 200 unverified codes",
        sms: safeSms,
        seconds: 0,
        result: `${served} of 30 new users of its neighbour blocks served`,
      };
    }),
  );
  // An attacker who reads and verifies one code in five, on one block.
  cases.push(
    await onGateway(redisPort, 15, {}, async (gw, up) => {
      const block = "+919811300";
      const started = performance.now();
      let attempts = 0;
      for (let n = 0; n < 200; n++) {
        const sent = await gw.post(
          "/v1/otp/send",
          { phone: `${block}${String(n).padStart(3, "0")}` },
          freshIp(),
        );
        attempts++;
        if (sent.status === 200 && n % 5 === 0) {
          const id = sent.json.verificationId ?? "";
          await gw.post("/v1/otp/verify", { verificationId: id, code: up.codeFor(id) }, freshIp());
        }
      }
      return {
        case: "an attacker verifying one code in five, one block",
        sms: up.sms.length,
        seconds: round((performance.now() - started) / 1000),
        result: `${up.sms.length} SMS of ${attempts} sends`,
      };
    }),
  );
  return cases;
}

/** Every key the guard wrote has a time to live; its memory per block that holds counts. */
async function guardKeys(redisPort: number, dbs: number[]) {
  const seen = { keys: 0, withoutTtl: 0, pump: [] as number[], proven: [] as number[] };
  for (const db of dbs) {
    const redis = new Redis({ port: redisPort, db, lazyConnect: true });
    await redis.connect();
    const keys = (await redis.keys("otp:*")).filter(
      (k) => k.startsWith("otp:pump:") || k.startsWith("otp:proven:"),
    );
    for (const key of keys) {
      seen.keys++;
      if ((await redis.pttl(key)) < 0) seen.withoutTtl++;
      const bytes = Number(await redis.memory("USAGE", key));
      // The operators' lists are not per block.
      if (key.startsWith("otp:proven:")) seen.proven.push(bytes);
      else if (key.includes("{")) seen.pump.push(bytes);
    }
    redis.disconnect();
  }
  const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : 0);
  return {
    guard_keys: seen.keys,
    guard_keys_without_ttl: seen.withoutTtl,
    bytes_per_pump_hash: mean(seen.pump),
    bytes_per_proven_bitmap: mean(seen.proven),
  };
}

export async function live(redisPort: number) {
  const runs = await Promise.all(
    ATTACKERS.flatMap((attacker, i) => [
      attackRun(redisPort, 2 * i, attacker, SIZED_BUDGETS),
      attackRun(redisPort, 2 * i + 1, attacker, undefined),
    ]),
  );
  const rows = runs.map(attackRow);
  const keys = await guardKeys(redisPort, [0, 1, 2, 3, 4, 5, 6, 7]);
  const cases = await realUserCases(redisPort);
  return { rows, keys, cases };
}

export function liveReport(result: Awaited<ReturnType<typeof live>>): string {
  const { rows, keys, cases } = result;
  const refused = (by: Record<string, number>) =>
    Object.entries(by)
      .map(([why, n]) => `${why} ${n}`)
      .join(", ") || "none";
  return [
    `Real time, cold start, shipped defaults (OTP_TTL 5m, PUMPING_UNPROVEN_* 10 / 30 over 1h); each attack from second ${ATTACK_AT_S} of a ${RUN_S} s run, beside about ${Math.round(LEGIT_RATE * 3600)} new legitimate users an hour; budgets sized (${SIZED_BUDGETS}) or the defaults.`,
    "",
    ...ATTACKERS.map((a) => `- ${a.name}: ${a.what}`),
    "",
    "| attacker | budgets | attack sends | SMS 1 min | 3 min | 10 min | share 3 min | max per block | last SMS (s) | legit sends | legit refused by | open share spent | returning served / refused after |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.attacker} | ${r.budgets} | ${r.attack_sends} | ${r.attack_sms_1m} | ${r.attack_sms_3m} | ${r.attack_sms_10m} | ${r.attack_sms_share_3m} % | ${r.attack_sms_per_block_max} | ${r.seconds_to_containment} | ${r.legit_sends} | ${refused(r.legit_refused_by)} | ${r.open_share_spent ? "yes" : "no"} | ${r.returning_served_after_open_share_spent} / ${r.returning_refused_after_open_share_spent} |`,
    ),
    "",
    `Guard keys in Redis after the runs: ${keys.guard_keys}, without a time to live: ${keys.guard_keys_without_ttl}; ${keys.bytes_per_pump_hash} bytes per block or range hash, ${keys.bytes_per_proven_bitmap} bytes per proven bitmap (MEMORY USAGE).`,
    "",
    "Attacks on real users (each on a fresh gateway, defaults):",
    "",
    "| case | SMS | seconds | result |",
    "|---|---:|---:|---|",
    ...cases.map((c) => `| ${c.case} | ${c.sms} | ${c.seconds} | ${c.result} |`),
  ].join("\n");
}

if (import.meta.main) {
  if (!process.argv.includes("--no-build")) await sh(["bash", "scripts/build.sh"], ROOT);
  const redisPort = await freePort();
  const redis = Bun.spawn(privateRedisArgs(redisPort, "--databases", "16"), { stdout: "ignore" });
  await Bun.sleep(300);
  try {
    const result = await live(redisPort);
    writeResults(
      ROOT,
      SMOKE ? "pumping-live-smoke" : "pumping-live",
      { date: new Date().toISOString(), ...result },
      liveReport(result),
    );
  } finally {
    redis.kill("SIGKILL");
  }
}
