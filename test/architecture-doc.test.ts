import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

test("docs/architecture.md names only files that exist, and every folder of src/", async () => {
  const text = await Bun.file(join(ROOT, "docs/architecture.md")).text();
  const named = [...text.matchAll(/`(src\/[^`\s]+)`/g)].map((m) => m[1] ?? "");
  expect(named.length).toBeGreaterThan(30);
  for (const path of named) expect(existsSync(join(ROOT, path)), path).toBe(true);
  const folders = readdirSync(join(ROOT, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "types")
    .map((entry) => `src/${entry.name}/`);
  for (const folder of folders) expect(text, folder).toContain(`\`${folder}`);
});
