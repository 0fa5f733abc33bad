// Rewrites the generated tables of the docs: configuration (from the environment schema), errors
// (from the error-code table) and metrics (from the registry). test/docs.test.ts checks that all
// three are current.
import { configMarkdown } from "../src/config/docs";
import { errorsMarkdown } from "../src/http/error-codes";
import { metricsMarkdown } from "../src/observability/metrics-docs";

const TABLES = [
  ["docs/configuration.md", "config-table", configMarkdown()],
  ["docs/errors.md", "error-table", errorsMarkdown()],
  ["docs/operations.md", "metrics-table", await metricsMarkdown()],
] as const;

for (const [file, name, table] of TABLES) {
  const path = new URL(`../${file}`, import.meta.url).pathname;
  const text = await Bun.file(path).text();
  const [start, end] = [`<!-- ${name}:start -->\n`, `\n<!-- ${name}:end -->`];
  const from = text.indexOf(start) + start.length;
  const to = text.indexOf(end);
  if (from < start.length || to < 0) throw new Error(`${file} has no ${name} markers`);
  await Bun.write(path, text.slice(0, from) + table + text.slice(to));
}
