import { type AppDeps, createApp } from "../../src/app";
import { socketPeer } from "../../src/http/guard";
import { PromMetrics } from "../../src/observability/metrics";
import { must } from "./given";
import { captureLogger, startMessaging, testDeps } from "./harness";

/** The app on a real socket (127.0.0.1, a free port), the peer address taken from the socket. */
export function listenApp(deps: AppDeps) {
  const app = createApp({ ...deps, http: { ...deps.http, peerAddress: socketPeer } }).listen({
    port: 0,
    hostname: "127.0.0.1",
  });
  const port = portOf(app);
  return { app, port, base: `http://127.0.0.1:${port}`, stop: () => app.stop(true) };
}

/** The port a listening app or server is on; the test fails here if it is not listening. */
export function portOf(app: { server: { port?: number } | null }): number {
  return must(app.server?.port, "a listening server");
}

/**
 * The gateway on a real socket, sending through the fake upstream at `upstreamUrl`, with
 * ALLOWED_COUNTRIES=IN unless `env` says otherwise; its log lines and its metrics page.
 */
export function socketGateway(upstreamUrl: string, env: Record<string, string> = {}) {
  const capture = captureLogger();
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const deps = testDeps(startMessaging(upstreamUrl, capture.logger), capture.logger, {
    env: { ALLOWED_COUNTRIES: "IN", ...env },
    metrics,
  });
  const server = listenApp(deps);
  const lines = () => capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const page = async () => (await metrics.render()).body;
  return { ...server, lines, capture, page };
}

/** The head of a JSON POST as `rawRequest` takes it: `target` and `Host` as written, the body's length. */
export const postHead = (target: string, host: string, body: string, extra = "") =>
  `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}${extra}`;

export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * Writes `head` (request line and headers, CRLF-separated, without the blank
 * line) and `body` as they are, the way an attacker's tool would, and reads one
 * answer: nothing in between rewrites the Host header, the target or the length.
 */
export async function rawRequest(port: number, head: string, body = ""): Promise<RawAnswer> {
  const chunks: Uint8Array[] = [];
  const text = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer in 5 s")), 5_000);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(`${head}\r\nConnection: close\r\n\r\n${body}`);
        },
        data(_socket, data) {
          chunks.push(new Uint8Array(data));
        },
        close() {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString("utf8"));
        },
        error(_socket, err) {
          clearTimeout(timer);
          reject(err);
        },
      },
    }).catch(reject);
  });
  const split = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, split < 0 ? text.length : split).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let rest = split < 0 ? "" : text.slice(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) rest = unchunk(rest);
  return { status: Number(statusLine.split(" ")[1] ?? 0), headers, body: rest };
}

function unchunk(raw: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", at);
    if (eol < 0) return out;
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (!size) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
