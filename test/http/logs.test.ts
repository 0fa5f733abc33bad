import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { maskDigitRuns } from "../../src/domain/mask";
import { createLogger, type LogFormat } from "../../src/observability/logger";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp, testDeps } from "../support/harness";
import { listenApp, rawRequest } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

describe("logs", () => {
  test("at debug level, through successes and failures, never a code, the API key or a full phone number", async () => {
    const { logger, lines } = captureLogger(); // debug level
    const client = testApp(startMessaging(fake.url, logger), logger, {
      env: { PHONE_SEND_LIMITS: "2/1m", GATEWAY_API_KEYS: "caller-key-0123456789" },
    });
    const auth = { authorization: "Bearer caller-key-0123456789" };
    const phone = "+919876502020";
    const { verificationId: requestId } = (await (
      await client.post("/v1/otp/send", { phone }, auth)
    ).json()) as { verificationId: string };
    const code = fake.sentCode(requestId);
    await client.post(
      "/v1/otp/verify",
      { verificationId: requestId, code: code === "000000" ? "111111" : "000000" },
      auth,
    );
    await client.post("/v1/otp/verify", { verificationId: requestId, code }, auth);
    fake.fail("/otp/send", { kind: "status", status: 500, body: `{"message":"failed for ${phone}"}` }, 3);
    await client.post("/v1/otp/send", { phone }, auth);
    await client.post("/v1/otp/send", { phone }, auth);
    await client.post("/v1/otp/send", { phone }, auth); // rate limited
    await client.post("/v1/otp/send", { phone: "+91 98765 02020" }, auth); // invalid
    await client.post("/v1/otp/send", { phone }, { authorization: "Bearer not-the-key-at-all" });
    await Bun.sleep(20); // request lines are written after the response
    const log = lines.join("\n");
    expect(lines.length).toBeGreaterThan(10);
    expect(log).toContain('"level":"debug"');
    for (const secret of [
      phone,
      "9876502020",
      "98765 02020",
      code,
      "sm_test_fake_key",
      "caller-key-0123456789",
      "not-the-key-at-all",
    ]) {
      expect(log, `the log contains ${secret}`).not.toContain(secret);
    }
    expect(log).toContain("+91******2020");
    // One line per request, with the fields operators need.
    const requests = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
    expect(requests.length).toBe(8);
    for (const entry of requests) {
      expect(Object.keys(entry)).toEqual(
        expect.arrayContaining(["time", "level", "requestId", "method", "path", "status", "ms", "ip"]),
      );
    }
  });
});

describe("phone numbers in paths", () => {
  const NUMBER = "919811112222";
  const ADMIN_TOKEN = "admin-token-0123456789";
  /** Every way a client may spell one number in a path, each logged with at most its last four digits. */
  const spellings = [
    `+${NUMBER}`,
    NUMBER,
    `%2B${NUMBER}`,
    `%252B${NUMBER}`,
    `%25252B${NUMBER}`,
    `%2B${[...NUMBER].map((d) => `%3${d}`).join("")}`,
    `%2B${[...NUMBER].map((d) => `%253${d}`).join("")}`,
    "91-98111-12222",
    "91.9811.112222",
    "(91)9811112222",
    "91%209811%20112222",
    "%2B91%20(98111)%2012222",
    "+91%2098111%20-%2012222",
    "+9198111%2F12222",
    "98111,12222",
    "98111;12222",
    "98111:12222",
    "98111*12222",
    "98111%0912222",
    "98111%C2%A012222",
    [..."919811112222"].map((d) => `%EF%BC%9${d}`).join(""), // fullwidth digits, percent-encoded
    "9198111１２２２２", // fullwidth digits as they are
    [..."919811112222"].map((d) => `%C0%B${d}`).join(""), // overlong UTF-8
  ];
  /** What of the number must never reach a log line, in any spelling a reader could undo. */
  const forbidden = [
    "98111122",
    "9811112222",
    [..."98111122"].map((d) => `%3${d}`).join(""),
    "98111-12222",
    "9811 112222",
  ];

  /** Routes of every kind with the number spelt `spelling` in their paths: none answers 5xx. */
  async function askWithNumber(port: number, spelling: string): Promise<void> {
    const auth = `Authorization: Bearer ${ADMIN_TOKEN}`;
    for (const [method, path] of [
      ["DELETE", `/admin/phones/${spelling}/windows`],
      ["PUT", `/admin/safe-list/numbers/${spelling}`],
      ["DELETE", `/admin/blocks/${spelling}`],
      ["GET", `/problems/${spelling}`],
      ["GET", `/v1/otp/${spelling}`],
      ["GET", `/swagger/json?phone=${spelling}`],
      ["POST", `/v1/otp/send/${spelling}`],
    ] as const) {
      const answer = await rawRequest(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: gw\r\n${auth}\r\nContent-Length: 0`,
      );
      expect(answer.status, `${method} ${path}`).toBeLessThan(500);
    }
  }

  for (const format of ["json", "pretty"] as LogFormat[]) {
    test(`a broad mix of requests over a real socket: no ${format} log line holds the number`, async () => {
      const lines: string[] = [];
      const logger = createLogger({ level: "debug", format, write: (line) => lines.push(line) });
      const deps = testDeps(startMessaging(fake.url, logger), logger, { env: { ADMIN_TOKEN } });
      const server = listenApp(deps);
      try {
        for (const spelling of spellings) await askWithNumber(server.port, spelling);
        const body = JSON.stringify({ phone: `+${NUMBER}` });
        await rawRequest(
          server.port,
          `POST /v1/otp/send HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`,
          body,
        );
        await Bun.sleep(20);
        expect(lines.filter((l) => l.includes("request")).length).toBeGreaterThan(spellings.length * 6);
        for (const line of lines) for (const part of forbidden) expect(line, line).not.toContain(part);
        // However a reader undoes a logged path (percent-decoding, fullwidth digits), its digits hold
        // no more than four of the number's.
        for (const path of lines.map(loggedPath)) expect(readDigits(path), path).not.toContain("98111122");
      } finally {
        await server.stop();
      }
    });
  }

  test("eight digits or more, in any spelling, are masked but the last four plain ones; fewer and other text stay", () => {
    expect(maskDigitRuns("/admin/phones/919811112222/windows")).toBe("/admin/phones/********2222/windows");
    expect(maskDigitRuns("/x/%39%31%39%38%31%31%31%31%32%32%32%32")).toBe("/x/************");
    expect(maskDigitRuns("/x/91-98111-12222")).toBe("/x/**-*****-*2222");
    expect(maskDigitRuns("/x/98111,12222")).toBe("/x/*****,*2222");
    expect(maskDigitRuns("/x/９１９８１１１１２２２２")).toBe("/x/************");
    expect(maskDigitRuns("NO_CREDIT_FOR_919811112222")).toBe("NO_CREDIT_FOR_********2222");
    expect(maskDigitRuns("/v1/otp/send")).toBe("/v1/otp/send");
    expect(maskDigitRuns("/problems/1234567")).toBe("/problems/1234567");
  });
});

/** A request line's path, from either log format. */
function loggedPath(line: string): string {
  if (line.startsWith("{")) return String((JSON.parse(line) as { path?: unknown }).path ?? "");
  return /\bpath=(\S+)/.exec(line)?.[1] ?? "";
}

/** The digits a reader finds in a path after undoing its percent-escapes (at any depth) and fullwidth forms. */
function readDigits(path: string): string {
  let text = path;
  for (let round = 0; round < 5; round++) {
    const bytes = text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    text = Buffer.from(bytes, "latin1").toString("utf8");
  }
  return text.normalize("NFKC").replace(/[^0-9]/g, "");
}
