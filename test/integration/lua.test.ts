import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCRIPTS } from "../../src/adapters/store/redis/lua-scripts";
import {
  ADMIT_REPLY,
  BEGIN_VERIFY_REPLY,
  BUDGET_REPLY,
  CLAIM_REPLY,
  HIT_REPLY,
} from "../../src/adapters/store/redis/replies";

const SRC = new URL("../../src", import.meta.url).pathname;
const LUA = join(SRC, "adapters/store/redis/lua");
const scriptFiles = readdirSync(LUA).filter((f) => f.endsWith(".lua"));
const read = (file: string) => readFileSync(join(LUA, file), "utf8");

/** The names in a script's `Output: {a, b, c...}` header line (and the lines it continues on). */
function outputNames(source: string): string[] {
  const at = source.indexOf("-- Output: {");
  if (at < 0) return [];
  const end = source.indexOf("}", at);
  return source
    .slice(at + "-- Output: {".length, end)
    .replace(/\n--/g, " ")
    .split(",")
    .map((name) => name.trim().replace(/\.\.\.$/, ""))
    .filter(Boolean);
}

describe("the store's Lua", () => {
  test("passes luacheck as Redis runs each script (its shared functions put before it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "otp-luacheck-"));
    try {
      const seen = new Set<string>();
      const files: string[] = [];
      for (const [name, { lua }] of Object.entries(SCRIPTS)) {
        if (seen.has(lua)) continue;
        seen.add(lua);
        const file = join(dir, `${name}.lua`);
        writeFileSync(file, lua);
        files.push(file);
      }
      const args = [
        "--std",
        "lua51",
        "--globals",
        "redis",
        "cjson",
        "KEYS",
        "ARGV",
        "--max-line-length",
        "110",
        "--codes",
      ];
      const lint = Bun.spawnSync(["luacheck", ...args, ...files]);
      expect(lint.exitCode, lint.stdout.toString()).toBe(0);
      expect(files.length).toBeGreaterThanOrEqual(15);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("every script opens with a header that names its KEYS, its ARGV and its reply, and binds them to named locals", () => {
    for (const file of scriptFiles) {
      const source = read(file);
      const header = source
        .split("\n")
        .filter((line) => line.startsWith("--"))
        .join("\n");
      expect(source.startsWith("-- "), file).toBe(true);
      expect(header, file).toContain("-- Input:");
      expect(header, file).toContain("-- Output:");
      // KEYS[n] and ARGV[n] appear in the header, and in the code only where a named local is bound to them.
      for (const line of source.split("\n").filter((l) => !l.startsWith("--"))) {
        for (const [index] of line.matchAll(/\b(KEYS|ARGV)\[\d+\]/g)) {
          expect(header, `${file}: ${index}`).toContain(index.replace(/\[\d+\]/, ""));
          expect(/^\s*local\s/.test(line), `${file}: ${line}`).toBe(true);
        }
      }
    }
  });

  test("each reply is read through a table of positions named as its script's header names them", () => {
    const tables: [string, Record<string, number>][] = [
      ["hit.lua", HIT_REPLY],
      ["admit.lua", ADMIT_REPLY],
      ["budget.lua", BUDGET_REPLY],
      ["begin-verify.lua", BEGIN_VERIFY_REPLY],
      ["claim-idempotency.lua", CLAIM_REPLY],
    ];
    for (const [file, table] of tables) {
      const names = Object.entries(table)
        .sort(([, a], [, b]) => a - b)
        .map(([name]) => name);
      expect(outputNames(read(file)), file).toEqual(names);
    }
  });

  test("no Redis command is written in TypeScript: every script is a .lua file", () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? sources(join(dir, entry.name))
          : entry.name.endsWith(".ts")
            ? [join(dir, entry.name)]
            : [],
      );
    const offenders = sources(SRC).filter((file) => readFileSync(file, "utf8").includes("redis.call("));
    expect(offenders).toEqual([]);
  });
});
