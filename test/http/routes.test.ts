import { describe, expect, test } from "bun:test";
import { captureLogger, codeFromLog, consoleProvider, testApp } from "../support/harness";

const { logger, lines } = captureLogger();
const client = testApp(consoleProvider(logger), logger);

async function expectProblem(res: Response, status: number, code: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const problem = JSON.parse(text);
  expect(problem).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^\/problems\/[a-z-]+$/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(problem.requestId).toBe(res.headers.get("x-request-id"));
  return problem;
}

describe("send and verify with the console provider", () => {
  test("the whole flow: send, read the code from the log, verify once", async () => {
    const res = await client.post("/v1/otp/send", { phone: "+919876543210" });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { verificationId: string; expiresAt: string; attemptsLeft: number };
    expect(Object.keys(body).sort()).toEqual(["attemptsLeft", "expiresAt", "resendAfter", "verificationId"]);
    const code = codeFromLog(lines, body.verificationId);
    expect(
      await (await client.post("/v1/otp/verify", { verificationId: body.verificationId, code })).json(),
    ).toEqual({
      verified: true,
    });
    expect(
      await (await client.post("/v1/otp/verify", { verificationId: body.verificationId, code })).json(),
    ).toEqual({
      verified: false,
    });
  });

  test("a wrong, unknown or exhausted code is 200 verified:false, never an error", async () => {
    const { verificationId: requestId } = (await (
      await client.post("/v1/otp/send", { phone: "+919812345678" })
    ).json()) as { verificationId: string };
    const code = codeFromLog(lines, requestId);
    const wrong = code === "999999" ? "888888" : "999999";
    for (let i = 0; i < 3; i++) {
      const res = await client.post("/v1/otp/verify", { verificationId: requestId, code: wrong });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ verified: false });
    }
    // The attempts are spent: even the right code fails now.
    expect(await (await client.post("/v1/otp/verify", { verificationId: requestId, code })).json()).toEqual({
      verified: false,
    });
    expect(
      await (await client.post("/v1/otp/verify", { verificationId: "otp_nope", code: "123456" })).json(),
    ).toEqual({
      verified: false,
    });
  });
});

describe("invalid input is a 400 problem and nothing is sent", () => {
  const cases: [string, unknown][] = [
    ["malformed JSON", "{not json"],
    ["an empty body", ""],
    ["an array", [{ phone: "+919876543210" }]],
    ["a string", '"+919876543210"'],
    ["null", "null"],
    ["a number for phone", { phone: 919876543210 }],
    ["a missing phone", {}],
    ["a phone with spaces", { phone: "+91 98765 43210" }],
    ["a phone without +", { phone: "919876543210" }],
    ["a phone too long", { phone: "+9198765432101234" }],
    // Once a 500: Elysia's dev-mode validation message stringified this value.
    ["an object whose toString is not a function", '{"phone":{"toString":{}}}'],
    ["an array holding such an object", '[{"toString":1}]'],
  ];
  for (const [name, body] of cases) {
    test(`send with ${name}`, async () => {
      const before = lines.length;
      await expectProblem(await client.post("/v1/otp/send", body), 400, "INVALID_REQUEST");
      expect(lines.slice(before).some((l) => l.includes("OTP code"))).toBe(false);
    });
  }

  test("a well-formed number that is not a mobile is INVALID_PHONE", async () => {
    await expectProblem(await client.post("/v1/otp/send", { phone: "+911123456789" }), 400, "INVALID_PHONE"); // Delhi landline
    await expectProblem(await client.post("/v1/otp/send", { phone: "+91987655" }), 400, "INVALID_PHONE"); // E.164-shaped, too short for India
    await expectProblem(await client.post("/v1/otp/send", { phone: "+9100000000000" }), 400, "INVALID_PHONE");
  });

  test("field errors point at the field and do not echo the value", async () => {
    const problem = await expectProblem(
      await client.post("/v1/otp/verify", { verificationId: "<script>", code: "12ab" }),
      400,
      "INVALID_REQUEST",
    );
    const pointers = problem.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(["/code", "/verificationId"]);
    expect(JSON.stringify(problem)).not.toContain("<script>");
  });

  test("a field its pattern refused is explained in words with an example, not the pattern", async () => {
    const problem = await expectProblem(
      await client.post("/v1/otp/send", { phone: "12345" }),
      400,
      "INVALID_REQUEST",
    );
    const [phone] = problem.errors as { pointer: string; detail: string }[];
    expect(phone?.pointer).toBe("/phone");
    expect(phone?.detail).toContain("E.164");
    expect(phone?.detail).toContain('For example "+919876543210"');
    expect(phone?.detail).not.toContain("^");
  });

  test("verify codes must be 4 to 8 digits", async () => {
    for (const code of ["123", "123456789", "12 34", "١٢٣٤٥٦", ""]) {
      await expectProblem(
        await client.post("/v1/otp/verify", { verificationId: "otp_x", code }),
        400,
        "INVALID_REQUEST",
      );
    }
  });

  test("a bad Idempotency-Key header is refused", async () => {
    await expectProblem(
      await client.post("/v1/otp/send", { phone: "+919876543210" }, { "idempotency-key": "has space" }),
      400,
      "INVALID_REQUEST",
    );
    await expectProblem(
      await client.post("/v1/otp/send", { phone: "+919876543210" }, { "idempotency-key": "k".repeat(256) }),
      400,
      "INVALID_REQUEST",
    );
  });

  test("a body that is not JSON is 415", async () => {
    const res = await client.app.handle(
      new Request("http://localhost/v1/otp/send", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "phone=%2B919876543210",
      }),
    );
    await expectProblem(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    const none = await client.app.handle(
      new Request("http://localhost/v1/otp/send", {
        method: "POST",
        body: new Blob(['{"phone":"+919876543210"}']),
      }),
    );
    await expectProblem(none, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  test("application/json with a charset and vendor +json types are accepted", async () => {
    for (const type of ["application/json; charset=utf-8", "application/problem+json"]) {
      const res = await client.post("/v1/otp/send", { phone: "+919876543210" }, { "content-type": type });
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(200);
    }
  });

  test("a body over MAX_BODY_SIZE is 413, declared or streamed", async () => {
    await expectProblem(
      await client.post("/v1/otp/send", { phone: "+919876543210", pad: "x".repeat(20_000) }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"phone":"+919876543210","pad":"${"x".repeat(20_000)}"}`));
        c.close();
      },
    });
    const chunked = await client.app.handle(
      new Request("http://localhost/v1/otp/send", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      }),
    );
    await expectProblem(chunked, 413, "PAYLOAD_TOO_LARGE");
  });
});

describe("every answer", () => {
  test("an unknown route is a 404 problem; a known path with another method is 405 with Allow", async () => {
    await expectProblem(await client.get("/v1/nope"), 404, "NOT_FOUND");
    const wrongMethod = await client.get("/v1/otp/send");
    expect(wrongMethod.headers.get("allow")).toBe("POST, OPTIONS");
    await expectProblem(wrongMethod, 405, "METHOD_NOT_ALLOWED");
  });

  test("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
    const kept = await client.get("/healthz", { "x-request-id": "abc-123.def:9_Z" });
    expect(kept.headers.get("x-request-id")).toBe("abc-123.def:9_Z");
    for (const bad of ["has space", "x".repeat(129), "a\u00e9b", "<script>alert(1)</script>"]) {
      const res = await client.get("/healthz", { "x-request-id": bad });
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    const problem = await client.post("/v1/otp/send", "{", { "x-request-id": "trace-1" });
    expect(problem.headers.get("x-request-id")).toBe("trace-1");
    expect((await problem.json()).requestId).toBe("trace-1");
  });

  test("/healthz and /readyz answer 200", async () => {
    const health = await client.get("/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await client.get("/readyz");
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe("ready");
  });
});
