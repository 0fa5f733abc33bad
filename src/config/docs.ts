import { EnvSchema } from "./schema";

interface Documented {
  default?: unknown;
  description?: string;
}

/** [name, default, description] for every environment variable, in schema order. */
export function configRows(): [string, string, string][] {
  return Object.entries(EnvSchema.properties).map(([name, schema]) => {
    const s = schema as Documented;
    return [
      name,
      s.default === "" || s.default === undefined ? "(unset)" : String(s.default),
      s.description ?? "",
    ];
  });
}

/** The configuration table of docs/configuration.md (kept true by a test). */
export function configMarkdown(): string {
  const rows = configRows().map(([name, def, text]) => `| \`${name}\` | \`${def}\` | ${text} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** The environment section of `--help`. */
export function configHelp(): string {
  return configRows()
    .map(([name, def, text]) => `  ${name.padEnd(28)} ${text.replaceAll("`", "")} [default: ${def}]`)
    .join("\n");
}
