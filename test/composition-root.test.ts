import { expect, test } from "bun:test";
import { buildServices } from "../src/composition-root";
import { loadConfig } from "../src/config/index";
import { captureLogger } from "./support/harness";

test("the console provider is chosen without a key and announced with a loud warning", () => {
  const { logger, lines } = captureLogger();
  const deps = buildServices(loadConfig({}), logger);
  expect(deps.provider.name).toBe("console");
  const warning = lines
    .map((l) => JSON.parse(l))
    .find((e) => e.level === "warn" && e.msg.startsWith("CONSOLE PROVIDER"));
  expect(warning?.msg).toContain("no SMS is sent");
});

test("a key selects StartMessaging, with no console warning", () => {
  const { logger, lines } = captureLogger();
  const deps = buildServices(loadConfig({ STARTMESSAGING_API_KEY: "sm_test_x" }), logger);
  expect(deps.provider.name).toBe("startmessaging");
  expect(lines.some((l) => l.includes("CONSOLE PROVIDER"))).toBe(false);
});
