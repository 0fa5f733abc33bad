// Rewrites the configuration table in README.md from the environment schema (test/docs.test.ts checks it).
import { configMarkdown } from "../src/config-docs";

const path = new URL("../README.md", import.meta.url).pathname;
const readme = await Bun.file(path).text();
const [start, end] = ["<!-- config-table:start -->\n", "\n<!-- config-table:end -->"];
const from = readme.indexOf(start) + start.length;
const to = readme.indexOf(end);
if (from < start.length || to < 0) throw new Error("README.md has no config-table markers");
await Bun.write(path, readme.slice(0, from) + configMarkdown() + readme.slice(to));
