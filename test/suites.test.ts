import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * `bun run test:quick` leaves out the directories scripts/test-quick.sh names in FULL_ONLY and
 * runs every other test file. What a test needs beyond Bun is read from its source and from the
 * helpers it imports from test/: a quick test that needs any of it fails here, and so does a
 * left-out test that needs none of what its directory is for (it would run only in the slow suite).
 */
const NEEDS: [string, RegExp][] = [
  [
    "a real Redis",
    /from "[./]*\/support\/redis"|from "[./]*\/src\/adapters\/store\/redis\/index"|from "ioredis"/,
  ],
  ["promtool", /"promtool"/],
  ["Prometheus", /\["prometheus"|"prometheus",/],
  ["luacheck", /"luacheck"/],
  ["a compiled binary", /scripts\/build\.sh/],
  ["qemu", /qemu-aarch64/],
  ["podman and buildah", /\bContainerHost\b/],
  ["Chromium", /from "playwright-core"/],
  ["a benchmark run (wrk)", /\["bun", "bench\//],
];

/** The directories the quick run leaves out, and what their tests need (one of, at least). */
const FULL_ONLY_NEEDS: Record<string, string[]> = {
  "test/integration": ["a real Redis", "promtool", "Prometheus", "luacheck"],
  "test/e2e": ["a compiled binary", "qemu", "podman and buildah"],
  "test/browser": ["Chromium"],
  "test/bench": ["a benchmark run (wrk)"],
};

const ROOT = new URL("..", import.meta.url).pathname;
const TEST = join(ROOT, "test");
const script = readFileSync(join(ROOT, "scripts/test-quick.sh"), "utf8");
const FULL_ONLY = /^FULL_ONLY=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
const testFiles = files(TEST)
  .filter((path) => path.endsWith(".test.ts"))
  .map((path) => relative(ROOT, path));
const fullOnly = (file: string) => FULL_ONLY.some((dir) => file.startsWith(`${dir}/`));

/** The source of a test file and of every file under test/ it imports, directly or through another. */
function sourceWithHelpers(file: string, seen = new Set<string>()): string {
  const path = join(ROOT, file);
  if (seen.has(path)) return "";
  seen.add(path);
  const text = readFileSync(path, "utf8");
  const helpers = [...text.matchAll(/from "(\.[^"]+)"/g)]
    .map(([, specifier = ""]) => resolve(dirname(path), specifier))
    .map((target) => (target.endsWith(".ts") ? target : `${target}.ts`))
    .filter((target) => target.startsWith(`${TEST}/`) && existsSync(target));
  return [text, ...helpers.map((helper) => sourceWithHelpers(relative(ROOT, helper), seen))].join("\n");
}
const needs = (file: string) =>
  NEEDS.filter(([, pattern]) => pattern.test(sourceWithHelpers(file))).map(([what]) => what);

describe("the quick and the full test suites", () => {
  test("scripts/test-quick.sh leaves out the directories named here, and each holds tests", () => {
    expect([...FULL_ONLY].sort()).toEqual(Object.keys(FULL_ONLY_NEEDS).sort());
    for (const dir of FULL_ONLY) {
      expect(testFiles.filter((file) => file.startsWith(`${dir}/`)).length, dir).toBeGreaterThan(0);
    }
  });

  test("a test the quick run takes needs nothing but Bun", () => {
    const self = relative(ROOT, import.meta.path); // its patterns name every need
    const quick = testFiles.filter((file) => !fullOnly(file) && file !== self);
    expect(quick.length).toBeGreaterThan(0);
    expect(quick.map((file) => ({ file, needs: needs(file) })).filter((q) => q.needs.length > 0)).toEqual([]);
  });

  test("a test the quick run leaves out needs what its directory is for", () => {
    const misplaced = testFiles.filter(fullOnly).filter((file) => {
      const dir = FULL_ONLY.find((d) => file.startsWith(`${d}/`)) ?? "";
      return !needs(file).some((what) => FULL_ONLY_NEEDS[dir]?.includes(what));
    });
    expect(misplaced).toEqual([]);
  });
});
