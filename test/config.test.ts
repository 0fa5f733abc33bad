import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config/index";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  test("runs on embedded defaults with the console provider", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: "0.0.0.0",
      OTP_PROVIDER: "console",
      STARTMESSAGING_BASE_URL: "https://api.startmessaging.com",
      UPSTREAM_TIMEOUT: 10_000,
      OTP_LENGTH: 6,
      OTP_TTL: 300_000,
      LOG_LEVEL: "info",
    });
  });

  test("a key selects StartMessaging; durations and numbers are parsed", () => {
    const config = loadConfig({
      STARTMESSAGING_API_KEY: "sm_test_x",
      UPSTREAM_TIMEOUT: "2500ms",
      OTP_TTL: "10m",
      OTP_LENGTH: "8",
      PORT: "8080",
    });
    expect(config.OTP_PROVIDER).toBe("startmessaging");
    expect(config.UPSTREAM_TIMEOUT).toBe(2_500);
    expect(config.OTP_TTL).toBe(600_000);
    expect(config.OTP_LENGTH).toBe(8);
    expect(config.PORT).toBe(8080);
  });

  test("a bad value names the variable and what it expected", () => {
    expect(problemsOf({ PORT: "eighty" })).toEqual([
      'PORT="eighty": expected a whole number from 0 to 65535',
    ]);
    expect(problemsOf({ UPSTREAM_TIMEOUT: "10 seconds" })[0]).toContain("UPSTREAM_TIMEOUT");
    expect(problemsOf({ UPSTREAM_TIMEOUT: "10 seconds" })[0]).toContain("duration");
    expect(problemsOf({ LOG_LEVEL: "loud" })[0]).toContain("one of debug, info, warn, error, silent");
    expect(problemsOf({ OTP_LENGTH: "3" })[0]).toContain("OTP_LENGTH");
    expect(problemsOf({ STARTMESSAGING_BASE_URL: "ftp://x" })[0]).toContain("STARTMESSAGING_BASE_URL");
    expect(problemsOf({ PORT: "x", OTP_TTL: "y" })).toHaveLength(2);
  });

  test("the StartMessaging provider without a key is refused", () => {
    expect(problemsOf({ OTP_PROVIDER: "startmessaging" })[0]).toContain("STARTMESSAGING_API_KEY");
  });

  test("in production the console provider runs only when chosen explicitly", () => {
    expect(problemsOf({ NODE_ENV: "production" })[0]).toContain("OTP_PROVIDER");
    expect(loadConfig({ NODE_ENV: "production", OTP_PROVIDER: "console" }).OTP_PROVIDER).toBe("console");
  });

  test("/metrics: public in development; in production behind ADMIN_TOKEN, or off with a warning", () => {
    const production = { NODE_ENV: "production", STARTMESSAGING_API_KEY: "sm_live_x" };
    expect(loadConfig({ NODE_ENV: "development" })).toMatchObject({ METRICS_ACCESS: "public", warnings: [] });
    const token = loadConfig({ ...production, ADMIN_TOKEN: "admin-token-0123456789" });
    expect(token).toMatchObject({ METRICS_ACCESS: "token", warnings: [] });
    const off = loadConfig(production);
    expect(off.METRICS_ACCESS).toBe("off");
    expect(off.warnings).toEqual([expect.stringContaining("GET /metrics is off")]);
    // Said outright, it is what was said.
    expect(loadConfig({ ...production, METRICS_ACCESS: "public" })).toMatchObject({
      METRICS_ACCESS: "public",
      warnings: [],
    });
  });

  test("the server's idle timeout outlasts the worst upstream wait", () => {
    const config = loadConfig({ UPSTREAM_TIMEOUT: "10s", UPSTREAM_RETRIES: "2" });
    expect(config.IDLE_TIMEOUT_S * 1000).toBeGreaterThan(config.UPSTREAM_TIMEOUT * 3);
    expect(problemsOf({ UPSTREAM_TIMEOUT: "2m", UPSTREAM_RETRIES: "2" })[0]).toContain("exceeds");
  });

  test("a configuration error never shows a secret or the password in a URL", () => {
    const problems = problemsOf({
      REDIS_URL: "valkey://:hunter2@cache.internal:6379",
      ADMIN_TOKEN: "short-s3cret",
      GATEWAY_API_KEYS: ",",
      PORT: "-1",
    }).join("\n");
    expect(problems).toContain("REDIS_URL=");
    expect(problems).toContain("//***@cache.internal");
    for (const secret of ["hunter2", "short-s3cret"]) expect(problems).not.toContain(secret);
    expect(problemsOf({ REDIS_URL: "redi://user:pa/ss@h:1" }).join("\n")).not.toContain("pa/ss");
    // Values that pass the scheme check but are not URLs (ioredis would throw, printing them), and badly written ones.
    for (const [name, value] of [
      ["REDIS_URL", "redis://:Zm9v/YmFy+s3cret=@127.0.0.1:6379"],
      ["REDIS_URL", "redis://:s3cret@127.0.0.1:99999"],
      ["REDIS_URL", "redis:u:s3cret@h"],
      ["REDIS_URL", "u:s3cret@h:6379"],
      ["STARTMESSAGING_BASE_URL", "https://u:s3c ret@h"],
      ["REDIS_CLUSTER_NODES", "rediss://u:s3c@ret@a:1,rediss://u:s3cother@b:2"],
    ] as const) {
      const problems = problemsOf({ [name]: value }).join("\n");
      expect(problems, value).toContain(`${name}=`);
      expect(problems, value).not.toContain("s3c");
      expect(problems, value).not.toContain("Zm9v");
    }
  });

  test("cluster seeds: host:port, or URLs carrying one login and TLS for every node", () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, [::1]:7001" }).REDIS_CLUSTER_NODES).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "::1", port: 7001 },
      ],
      tls: false,
    });
    expect(
      loadConfig({
        REDIS_CLUSTER_NODES: "rediss://app:p%40ss@a.internal:6379,rediss://app:p%40ss@b.internal:6379",
      }).REDIS_CLUSTER_NODES,
    ).toEqual({
      nodes: [
        { host: "a.internal", port: 6379 },
        { host: "b.internal", port: 6379 },
      ],
      tls: true,
      username: "app",
      password: "p@ss",
    });
    const refusals: [value: string, expected: string][] = [
      ["rediss://:one@a:1,rediss://:two@b:2", "same scheme, user and password"],
      ["rediss://:pw@a:1,b:2", "rediss:// on every seed"],
      ["redis://:pw@a:1/3", "no database"],
      ["redis://:pw@a", "a port"],
      ["valkey://:pw@a:1", "host:port, or a redis:// or rediss:// URL"],
      ["a:99999", "a port from 1 to 65535"],
    ];
    for (const [value, expected] of refusals) {
      const problem = problemsOf({ REDIS_CLUSTER_NODES: value }).join("\n");
      expect(problem, value).toContain(expected);
      expect(problem, value).not.toMatch(/:(pw|one|two)@/);
    }
    expect(problemsOf({ REDIS_TLS_CA_FILE: "/nonexistent/ca.pem" })[0]).toContain("a readable PEM file");
  });

  test("an Idempotency-Key record may not end before the phone's longest send window", () => {
    expect(problemsOf({ IDEMPOTENCY_TTL: "3s", PHONE_SEND_LIMITS: "1/1m" })[0]).toContain(
      "IDEMPOTENCY_TTL=3s: expected at least the longest PHONE_SEND_LIMITS window (1m)",
    );
    expect(problemsOf({ IDEMPOTENCY_TTL: "12h" })[0]).toContain("(1d)"); // the default windows reach 24 h
    expect(loadConfig({ IDEMPOTENCY_TTL: "1m", PHONE_SEND_LIMITS: "1/1m" }).IDEMPOTENCY_TTL).toBe(60_000);
  });

  test("the API key never appears in a configuration error", () => {
    const problems = problemsOf({ STARTMESSAGING_API_KEY: "sm_live_abcdefgh12345", PORT: "-1" });
    expect(problems.join("\n")).not.toContain("sm_live_");
  });
});
