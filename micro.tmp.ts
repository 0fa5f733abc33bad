import { createApp } from "./src/app";
import { testDeps } from "./test/support/harness";
import { ConsoleProvider } from "./src/adapters/sms/console";
import { createLogger } from "./src/lib/logger";
import { Elysia, t } from "elysia";
const nolog = process.env.NOLOG === "1";
const logger = createLogger({ level: nolog ? "silent" : "info", write: () => {} });
const deps = testDeps(new ConsoleProvider({ logger, secret: "x" } as any), logger, { env: { IP_SEND_LIMITS: "1/1h" } });
const app = createApp(deps);
const plain = new Elysia().onRequest(({ request }) => { if (request.method === "POST") return new Response('{"type":"x","title":"Too many requests","status":429}', { status: 429, headers: { "content-type": "application/problem+json", "retry-after": "3600" } }); }).post("/v1/otp/send", () => "x");
const mk = () => new Request("http://localhost/v1/otp/send", { method: "POST", headers: { "content-type": "application/json" }, body: '{"phone":"+919876543210"}' });
async function bench(name: string, h: (r: Request) => Promise<Response> | Response) {
  for (let i = 0; i < 20000; i++) await h(mk());
  const N = 200000; const t0 = performance.now();
  for (let i = 0; i < N; i++) await h(mk());
  console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(2), "us");
}
const r = await app.handle(mk()); console.log(r.status, await r.text()); const r2 = await app.handle(mk()); console.log(r2.status, await r2.text());
await bench("request only", (r) => new Response("x"));
await bench("plain elysia 429", (r) => plain.handle(r));
await bench("gateway 429", (r) => app.handle(r));
