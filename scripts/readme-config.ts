// Rewrites the generated tables in README.md: configuration (from the environment schema) and
// errors (from the error-code table). test/docs.test.ts checks that both are current.
import { configMarkdown } from "../src/config/docs";
import { errorsMarkdown } from "../src/http/error-codes";

const path = new URL("../README.md", import.meta.url).pathname;
let readme = await Bun.file(path).text();
for (const [name, table] of [
  ["config-table", configMarkdown()],
  ["error-table", errorsMarkdown()],
] as const) {
  const [start, end] = [`<!-- ${name}:start -->\n`, `\n<!-- ${name}:end -->`];
  const from = readme.indexOf(start) + start.length;
  const to = readme.indexOf(end);
  if (from < start.length || to < 0) throw new Error(`README.md has no ${name} markers`);
  readme = readme.slice(0, from) + table + readme.slice(to);
}
await Bun.write(path, readme);
