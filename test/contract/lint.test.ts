import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Redocly's lint with its recommended ruleset, over the whole contract (what
 * `otp-gateway openapi` prints: the admin routes included). No error; the
 * warnings that remain are the ones README.md justifies, and no other.
 */
const JUSTIFIED = [
  // The probes take no input and no key: there is no 4xx they could answer.
  "operation-4xx-response #/paths/~1healthz/get/responses",
  "operation-4xx-response #/paths/~1readyz/get/responses",
];

describe("@redocly/cli lint, recommended rules", () => {
  test("0 errors, and only the warnings README.md justifies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "otp-lint-"));
    try {
      const file = join(dir, "openapi.json");
      await Bun.write(file, Bun.spawnSync(["bun", "src/main.ts", "openapi"]).stdout);
      const lint = Bun.spawn(
        ["node", "node_modules/@redocly/cli/bin/cli.js", "lint", "--format=json", file],
        {
          stdout: "pipe",
          stderr: "pipe",
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        },
      );
      const [out] = await Promise.all([new Response(lint.stdout).text(), lint.exited]);
      const report = JSON.parse(out) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems
        .filter((p) => p.severity === "error")
        .map((p) => `${p.ruleId}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
      const warnings = report.problems
        .filter((p) => p.severity === "warn")
        .map((p) => `${p.ruleId} ${p.location[0]?.pointer}`);
      expect(warnings.sort()).toEqual([...JUSTIFIED].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
