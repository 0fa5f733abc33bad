import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The layers of src/, top to bottom: cli -> composition root -> app -> modules ->
 * http -> config -> adapters -> errors -> observability -> domain -> lib. A file
 * may import from its own layer or a lower one, never from a higher one, and no
 * files import each other in a circle.
 */
const SRC = new URL("../src", import.meta.url).pathname;
const LAYERS: [string, RegExp][] = [
  ["cli", /^(main|cli)\.ts$/],
  ["composition root", /^composition-root\.ts$/],
  ["app", /^app\.ts$/],
  ["modules", /^modules\//],
  ["http", /^http\//],
  ["config", /^config\//],
  ["adapters", /^adapters\//],
  ["errors", /^errors\.ts$/],
  ["observability", /^observability\//],
  ["domain", /^domain\//],
  ["lib", /^(lib|types)\//],
];
const rank = (file: string) => {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(file));
  if (index < 0) throw new Error(`${file} is in no layer: add it to LAYERS`);
  return index;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Each file of src/ (relative path) with the src/ modules it imports, statically, dynamically or by require. */
const graph = new Map<string, string[]>();
/** Files of src/ imported as text or as a path (`with { type: "text" }`: the store's Lua), that do not exist. */
const missingAssets: string[] = [];
const isAsset = (target: string) => /\.(lua|json)$/.test(target);
for (const path of sources(SRC)) {
  const text = readFileSync(path, "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s+|import\(\s*|require\(\s*)"(\.[^"]+)"/g)].map(
    (m) => m[1] ?? "",
  );
  const resolved = specifiers
    .map((s) => relative(SRC, resolve(dirname(path), s)))
    .filter((target) => !target.startsWith(".."));
  missingAssets.push(...resolved.filter((target) => isAsset(target) && !existsSync(join(SRC, target))));
  const targets = resolved
    .filter((target) => !isAsset(target))
    .map((target) =>
      target.endsWith(".ts") || existsSync(join(SRC, `${target}.ts`)) ? target : `${target}/index`,
    )
    .map((target) => (target.endsWith(".ts") ? target : `${target}.ts`));
  graph.set(relative(SRC, path), targets);
}

describe("the layout of src/", () => {
  test("imports point down the layers, never up", () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) if (rank(target) < rank(file)) upward.push(`${file} -> ${target}`);
    }
    expect(upward).toEqual([]);
  });

  test("no files import each other in a circle", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  // A file holds one concept, however long that takes: the shape of functions is linted
  // (biome.json), the length of files is not.
  test("every import names a file that exists", () => {
    for (const targets of graph.values()) {
      for (const target of targets) expect(graph.has(target), target).toBe(true);
    }
    expect(missingAssets).toEqual([]);
  });
});
