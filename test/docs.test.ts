import { expect, test } from "bun:test";
import { configMarkdown } from "../src/config/docs";
import { errorsMarkdown } from "../src/http/error-codes";
import { must } from "./support/given";

test("the README's configuration table matches the schema", async () => {
  const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();
  const table = readme.split("<!-- config-table:start -->\n")[1]?.split("\n<!-- config-table:end -->")[0];
  expect(table).toBe(configMarkdown());
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

test("the bench measures, and --help and the README name, the heap sizing the Dockerfile sets", async () => {
  const root = new URL("..", import.meta.url);
  const dockerfile = await Bun.file(new URL("Dockerfile", root)).text();
  const bench = await Bun.file(new URL("bench/run.ts", root)).text();
  const readme = await Bun.file(new URL("README.md", root)).text();
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

test("the README's errors table matches the error-code table", async () => {
  const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();
  const table = readme.split("<!-- error-table:start -->\n")[1]?.split("\n<!-- error-table:end -->")[0];
  expect(table).toBe(errorsMarkdown());
});
