// In-process cost of one refused send (no socket, no HTTP parsing): the gateway's
// per-IP refusal against an Elysia app whose onRequest hook returns a constant 429,
// both through app.handle, interleaved over several rounds. Explains the gap
// between the "IP-denied send" and "bare Elysia" rows of `bun run bench`.
//   bun bench/refusal-micro.ts [--rounds 5] [--n 200000]
import { Elysia } from "elysia";
import { median } from "../scripts/lib/local";
import { createApp } from "../src/app";
import { createLogger } from "../src/observability/logger";
import { consoleProvider, testDeps } from "../test/support/harness";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const ROUNDS = option("rounds", 5);
const N = option("n", 200_000);

function gateway(level: "info" | "silent") {
  // Lines are formatted as in production and then dropped, so the figure excludes stdout.
  const logger = createLogger({ level, write: () => {} });
  return createApp(testDeps(consoleProvider(logger), logger, { env: { IP_SEND_LIMITS: "1/1h" } }));
}

const constant429 = new Elysia()
  .onRequest(({ request }) => {
    if (request.method === "POST") {
      return new Response('{"title":"Too many requests","status":429}', {
        status: 429,
        headers: { "content-type": "application/problem+json", "retry-after": "3600" },
      });
    }
  })
  .post("/v1/otp/send", () => "unreachable");

const request = () =>
  new Request("http://localhost/v1/otp/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"phone":"+919876543210"}',
  });
const subjects = {
  "new Request only": (r: Request) => new Response(r.url),
  "Elysia, onRequest returns a constant 429": (r: Request) => constant429.handle(r),
  "gateway refusal, LOG_LEVEL=silent": (
    (app) => (r: Request) =>
      app.handle(r)
  )(gateway("silent")),
  "gateway refusal, request line formatted": (
    (app) => (r: Request) =>
      app.handle(r)
  )(gateway("info")),
};

for (const [name, handle] of Object.entries(subjects).slice(1)) {
  await handle(request()); // the gateway's one allowed send
  const status = (await handle(request())).status;
  if (status !== 429) throw new Error(`${name}: expected 429, got ${status}`);
}

const times: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, handle] of Object.entries(subjects)) {
    for (let i = 0; i < 5_000; i++) await handle(request());
    const started = performance.now();
    for (let i = 0; i < N; i++) await handle(request());
    times[name] ??= [];
    times[name].push(((performance.now() - started) * 1000) / N);
  }
}
console.log(`median µs per request over ${ROUNDS} rounds of ${N} (bun ${Bun.version})`);
for (const [name, xs] of Object.entries(times)) console.log(`${median(xs).toFixed(2).padStart(7)}  ${name}`);
