import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HARDENED } from "../scripts/lib/containers";
import { loadConfig } from "../src/config";
import { durationNs, runtimeStage } from "./support/dockerfile";

const ROOT = new URL("..", import.meta.url).pathname;

interface Service {
  image?: string;
  build?: string;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}

const compose = Bun.YAML.parse(readFileSync(join(ROOT, "compose.yaml"), "utf8")) as {
  services: Record<string, Service>;
};
const stage = runtimeStage();
const version: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

test("compose.yaml runs the image scripts/image.sh and the Dockerfile build, as the image's test runs it", () => {
  const gateway = compose.services.gateway;
  expect(gateway).toBeDefined();
  expect(gateway?.image).toBe(`otp-gateway:${version}`);
  expect(gateway?.build).toBe(".");
  // The image's own user and HEALTHCHECK, not overridden.
  expect(gateway?.user).toBeUndefined();
  expect(gateway?.healthcheck).toBeUndefined();
  // The hardening the image's test runs it with.
  expect(HARDENED).toEqual(["--read-only", "--cap-drop=all", "--security-opt", "no-new-privileges"]);
  expect(gateway?.read_only).toBe(true);
  expect(gateway?.cap_drop).toEqual(["ALL"]);
  expect(gateway?.security_opt).toEqual(["no-new-privileges:true"]);
  expect(gateway?.ports).toEqual([`${stage.env.PORT}:${stage.expose[0]}`]);
});

test("compose.yaml's gateway reaches its Redis by service name, waits for it, and stops after SHUTDOWN_GRACE", () => {
  const gateway = compose.services.gateway as Service;
  const redisHost = new URL(gateway.environment?.REDIS_URL ?? "").hostname;
  expect(Object.keys(compose.services)).toContain(redisHost);
  expect(gateway.depends_on?.[redisHost]?.condition).toBe("service_healthy");
  expect(compose.services[redisHost]?.healthcheck?.test).toBeDefined();
  // Every variable it passes is one the gateway reads.
  const known = Object.keys(loadConfig({ OTP_PROVIDER: "console" }));
  for (const name of Object.keys(gateway.environment ?? {})) expect(known, name).toContain(name);
  const grace = loadConfig({ OTP_PROVIDER: "console" }).SHUTDOWN_GRACE * 1e6;
  expect(durationNs(gateway.stop_grace_period ?? "")).toBeGreaterThan(grace);
});
