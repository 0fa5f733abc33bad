import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseVerificationId } from "../../src/domain/ids";

/**
 * A fake of the StartMessaging OTP API over real HTTP, for tests. It keeps real
 * state (codes, attempts, expiry, idempotency keys) so a test can send and then
 * verify with the code the "SMS" carried, and it can be told to misbehave for
 * the next requests: any status and body, slowness, a connection reset
 * mid-body, or a truncated body.
 */
export type Shape = "tutorial" | "reference";

export type Fault =
  | {
      kind: "status";
      status: number;
      body?: string | Uint8Array;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  /** A 200 whose chunked body goes on for `bytes` (or until the client hangs up). */
  | { kind: "flood"; bytes: number }
  | { kind: "delay"; ms: number }
  | { kind: "slow-body"; ms: number }
  | { kind: "reset" }
  | { kind: "truncate" };

export interface RecordedRequest {
  method: string;
  path: string;
  /** When it arrived (Date.now()). */
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface Sms {
  phone: string;
  code: string;
  requestId: string;
  /** The message's id (reference shape only), asked at GET /messages/{id}. */
  messageId?: string;
}

export interface FakeOptions {
  shape?: Shape;
  apiKey?: string;
  /** Code lifetime; default 5 minutes. */
  ttlMs?: number;
  /** Leave `expiresAt` and `attemptsLeft` out of send answers (some pages do). */
  sparse?: boolean;
  /** A right code stays valid after use (no single-use rule upstream). */
  reusableCodes?: boolean;
  /** Put before each verification id the fake makes (e.g. a sandbox's `test_`). Default none. */
  idPrefix?: string;
}

interface Pending {
  phone: string;
  code: string;
  expiresAt: number;
  attemptsLeft: number;
}

export class FakeStartMessaging {
  readonly requests: RecordedRequest[] = [];
  /** Every SMS "delivered", in order. Idempotent replays add nothing. */
  readonly sms: Sms[] = [];
  readonly #faults: { path: string; fault: Fault }[] = [];
  readonly #pending = new Map<string, Pending>();
  /** Each message's delivery status, as GET /messages/{id} answers it. */
  readonly #messages = new Map<string, string>();
  readonly #idempotency = new Map<string, { phone: string; status: number; body: string }>();
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  readonly options: Required<FakeOptions>;
  url = "";
  /** TCP connections accepted, to check that the client reuses them. */
  connections = 0;
  /** Body bytes the last `flood` fault got written before it ended or the client hung up. */
  floodWritten = 0;
  /** How long GET /messages/{id} takes to answer (a slow upstream), and the most it served at once. */
  messageDelayMs = 0;
  messagesInFlightMax = 0;
  #messagesInFlight = 0;

  constructor(options: FakeOptions = {}) {
    this.options = {
      shape: "tutorial",
      apiKey: "sm_test_fake_key",
      ttlMs: 300_000,
      sparse: false,
      reusableCodes: false,
      idPrefix: "",
      ...options,
    };
  }

  async start(): Promise<this> {
    this.#server.on("connection", () => this.connections++);
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The next request to `path` (`/otp/send` or `/otp/verify`) meets this fault; queue several for several. */
  fail(path: string, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.#faults.push({ path, fault });
  }

  /** When each request to a path starting with `prefix` arrived. */
  requestTimes(prefix: string): number[] {
    return this.requests.filter((r) => r.path.startsWith(prefix)).map((r) => r.at);
  }

  calls(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The code an SMS carried, by its id here or by the gateway's id that carries it. */
  codeFor(requestId: string): string | undefined {
    const id = parseVerificationId(requestId)?.inner ?? requestId;
    return this.sms.find((m) => m.requestId === id)?.code;
  }

  /** The code an SMS carried, as `codeFor` finds it; the test fails here when no SMS carried one. */
  sentCode(requestId: string): string {
    const code = this.codeFor(requestId);
    if (code === undefined) throw new Error(`no SMS carried a code for ${requestId}`);
    return code;
  }

  reset(): void {
    this.requests.length = 0;
    this.sms.length = 0;
    this.#faults.length = 0;
    this.#pending.clear();
    this.#messages.clear();
    this.#idempotency.clear();
    this.messageDelayMs = 0;
    this.messagesInFlightMax = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    this.requests.push({ method: req.method ?? "", path, at: Date.now(), headers: req.headers, body });

    const index = this.#faults.findIndex((f) => f.path === path);
    const [queued] = index >= 0 ? this.#faults.splice(index, 1) : [];
    const fault = queued?.fault;
    if (fault && (await this.#applyFault(fault, res))) return;

    if (req.method === "GET" && path.startsWith("/messages/")) return this.#message(req, path, res);
    if (req.method === "HEAD" || req.method === "GET") return this.#reply(res, 404, { message: "Not found" });
    if (req.headers["x-api-key"] !== this.options.apiKey) {
      return this.#reply(res, 401, {
        success: false,
        error: { code: "UNAUTHORIZED", message: "Invalid API key" },
      });
    }
    if (path === "/otp/send") return this.#send(body as Record<string, unknown>, res, fault);
    if (path === "/otp/verify") return this.#verify(body as Record<string, unknown>, res, fault);
    this.#reply(res, 404, { message: "Not found" });
  }

  /** Sets what GET /messages/{id} answers for the SMS of a verification (its id here or the gateway's). */
  setDelivery(requestId: string, status: string): void {
    const id = parseVerificationId(requestId)?.inner ?? requestId;
    const messageId = this.sms.find((m) => m.requestId === id)?.messageId;
    if (!messageId) throw new Error(`no message for ${requestId} (only the reference shape has message ids)`);
    this.#messages.set(messageId, status);
  }

  /** GET /messages/{id}: the reference's `{messageId, status, deliveredAt, error}`, after messageDelayMs. */
  async #message(req: IncomingMessage, path: string, res: ServerResponse) {
    this.#messagesInFlight += 1;
    this.messagesInFlightMax = Math.max(this.messagesInFlightMax, this.#messagesInFlight);
    try {
      if (this.messageDelayMs > 0) await Bun.sleep(this.messageDelayMs);
      this.#messageAnswer(req, path, res);
    } finally {
      this.#messagesInFlight -= 1;
    }
  }

  #messageAnswer(req: IncomingMessage, path: string, res: ServerResponse) {
    if (req.headers["x-api-key"] !== this.options.apiKey)
      return this.#reply(res, 401, { message: "Invalid API key" });
    const messageId = decodeURIComponent(path.slice("/messages/".length));
    const status = this.#messages.get(messageId);
    if (status === undefined) return this.#reply(res, 404, { message: "Message not found" });
    const deliveredAt = status === "delivered" ? new Date().toISOString() : null;
    this.#reply(res, 200, {
      messageId,
      status,
      deliveredAt,
      error: status === "failed" ? "UNDELIVERABLE" : null,
    });
  }

  /** Returns true when the fault produced the whole answer. */
  async #applyFault(fault: Fault, res: ServerResponse): Promise<boolean> {
    switch (fault.kind) {
      case "status":
        if (fault.delayMs) await Bun.sleep(fault.delayMs);
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(fault.body ?? "");
        return true;
      case "delay":
        await Bun.sleep(fault.ms);
        return false;
      case "flood": {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(65_536, 0x20);
        this.floodWritten = 0;
        let closed = false;
        res.on("close", () => {
          closed = true;
        });
        while (!closed && this.floodWritten < fault.bytes) {
          this.floodWritten += chunk.length;
          if (!res.write(chunk)) {
            await new Promise((resolve) => res.once("drain", resolve).once("close", resolve));
          }
        }
        res.end();
        return true;
      }
      case "reset":
        res.writeHead(200, { "content-type": "application/json", "content-length": "200" });
        res.write('{"data":{"requ');
        await Bun.sleep(20);
        res.socket?.destroy();
        return true;
      case "truncate":
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"data":{"requestId":"req_');
        return true;
      case "slow-body":
        return false;
    }
  }

  #send(body: Record<string, unknown>, res: ServerResponse, fault?: Fault) {
    const phone = body?.phoneNumber;
    if (typeof phone !== "string" || !/^\+[1-9][0-9]{6,14}$/.test(phone)) {
      return this.#reply(res, 400, {
        success: false,
        error: { code: "INVALID_PHONE", message: `Invalid phone ${String(phone)}` },
      });
    }
    const key = typeof body.idempotencyKey === "string" ? body.idempotencyKey : undefined;
    const previous = key ? this.#idempotency.get(key) : undefined;
    if (previous) {
      if (previous.phone !== phone) {
        return this.#reply(res, 409, { message: "Idempotency key reused with different data" });
      }
      res.writeHead(previous.status, { "content-type": "application/json" });
      return void res.end(previous.body);
    }
    const { requestId, expiresAt, messageId } = this.#deliver(phone, body);
    const [status, answer] = this.#sendAnswer(requestId, expiresAt, messageId);
    const text = JSON.stringify(answer);
    if (key) this.#idempotency.set(key, { phone, status, body: text });
    if (fault?.kind === "slow-body") return this.#slowBody(res, status, text, fault.ms);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(text);
  }

  /** The "SMS": a code (its own, or in the reference shape the caller's), its id, its message's id. */
  #deliver(phone: string, body: Record<string, unknown>) {
    const reference = this.options.shape === "reference";
    // Tutorial shape: StartMessaging makes the code. Reference shape: it sends ours.
    const ours = (body.variables as { otp?: unknown } | undefined)?.otp;
    const code =
      reference && typeof ours === "string" ? ours : String(Math.floor(100000 + Math.random() * 900000));
    const requestId = `${this.options.idPrefix}${reference ? `otpreq_${randomUUID()}` : randomUUID()}`;
    const expiresAt = Date.now() + this.options.ttlMs;
    // A resend invalidates the previous code for this number.
    for (const [id, p] of this.#pending) if (p.phone === phone) this.#pending.delete(id);
    this.#pending.set(requestId, { phone, code, expiresAt, attemptsLeft: 3 });
    const messageId = reference ? `msg_${randomUUID()}` : undefined;
    if (messageId) this.#messages.set(messageId, "queued");
    this.sms.push({ phone, code, requestId, ...(messageId ? { messageId } : {}) });
    return { requestId, expiresAt, messageId };
  }

  /** A send's status and body in this fake's shape: the reference API's 201, or the tutorial's 200. */
  #sendAnswer(requestId: string, expiresAt: number, messageId?: string): [number, unknown] {
    if (this.options.shape === "reference") {
      return [
        201,
        {
          success: true,
          statusCode: 201,
          requestId: `req_${randomUUID()}`,
          timestamp: new Date().toISOString(),
          data: { otpRequestId: requestId, messageId, status: "queued" },
        },
      ];
    }
    const data = this.options.sparse
      ? { requestId }
      : { requestId, expiresAt: new Date(expiresAt).toISOString(), attemptsLeft: 3 };
    return [200, { data }];
  }

  #verify(body: Record<string, unknown>, res: ServerResponse, fault?: Fault) {
    const pending = typeof body?.requestId === "string" ? this.#pending.get(body.requestId) : undefined;
    if (!pending) return this.#reply(res, 404, { message: "OTP request not found" });
    if (Date.now() > pending.expiresAt) return this.#reply(res, 410, { message: "OTP expired" });
    if (pending.attemptsLeft <= 0) {
      return this.#reply(res, 200, { data: { verified: false, attemptsLeft: 0 } });
    }
    const verified = body.otpCode === pending.code;
    if (verified && !this.options.reusableCodes) this.#pending.delete(body.requestId as string);
    else pending.attemptsLeft -= 1;
    const text = JSON.stringify({ data: { verified, attemptsLeft: pending.attemptsLeft } });
    if (fault?.kind === "slow-body") return this.#slowBody(res, 200, text, fault.ms);
    this.#reply(res, 200, JSON.parse(text));
  }

  #slowBody(res: ServerResponse, status: number, text: string, ms: number): void {
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
    });
    res.write(text.slice(0, 5));
    setTimeout(() => res.end(text.slice(5)), ms);
  }

  #reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}

/** A request's body: JSON when it parses, else its text (undefined when empty). */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
