import { expect, test } from "bun:test";
import { configMarkdown } from "../src/config/docs";
import { errorsMarkdown } from "../src/http/error-codes";
import { metricsMarkdown } from "../src/observability/metrics-docs";
import { must } from "./support/given";

/** The generated table between a page's `<!-- name:start -->` and `<!-- name:end -->` markers. */
async function generated(page: string, name: string): Promise<string | undefined> {
  const text = await Bun.file(new URL(`../${page}`, import.meta.url)).text();
  return text.split(`<!-- ${name}:start -->\n`)[1]?.split(`\n<!-- ${name}:end -->`)[0];
}

test("docs/configuration.md's table matches the schema (bun run docs:config rewrites it)", async () => {
  expect(await generated("docs/configuration.md", "config-table")).toBe(configMarkdown());
});

test("docs/operations.md's metrics table matches the registry", async () => {
  expect(await generated("docs/operations.md", "metrics-table")).toBe(await metricsMarkdown());
});

test("--help lists every environment variable", async () => {
  const proc = Bun.spawn(["bun", new URL("../src/main.ts", import.meta.url).pathname, "--help"], {
    stdout: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  for (const line of configMarkdown().split("\n").slice(2)) {
    expect(out).toContain(must(line.split("`")[1], `a variable's name in ${line}`));
  }
});

test("the bench measures, and --help and docs/operations.md name, the heap sizing the Dockerfile sets", async () => {
  const root = new URL("..", import.meta.url);
  const dockerfile = await Bun.file(new URL("Dockerfile", root)).text();
  const bench = await Bun.file(new URL("bench/run.ts", root)).text();
  const readme = await Bun.file(new URL("docs/operations.md", root)).text();
  const image = /BUN_JSC_forceRAMSize=(\d+)/.exec(dockerfile)?.[1];
  expect(image).toBeDefined();
  expect(bench).toContain(`BUN_JSC_forceRAMSize: "${image}"`);
  expect(readme).toContain(`BUN_JSC_forceRAMSize=${image}`);
  const help = Bun.spawn(["bun", new URL("src/main.ts", root).pathname, "--help"], { stdout: "pipe" });
  const text = await new Response(help.stdout).text();
  expect(text).toContain("BUN_JSC_forceRAMSize (bytes)");
  expect(text).toContain(`image sets ${image}`);
  expect(await help.exited).toBe(0);
});

test("docs/errors.md's table matches the error-code table", async () => {
  expect(await generated("docs/errors.md", "error-table")).toBe(errorsMarkdown());
});
