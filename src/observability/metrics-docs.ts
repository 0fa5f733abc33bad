import { PromMetrics } from "./metrics";

/**
 * The metrics table of docs/operations.md, read from the registry itself (test/docs.test.ts keeps
 * the page equal to it): every metric the gateway registers, its type and its help text.
 */
export async function metricsMarkdown(): Promise<string> {
  const metrics = new PromMetrics({ version: "docs", defaultMetrics: false });
  // One observation of each kind, so that every series shows its labels.
  metrics.watchActiveBlocks(async () => 0);
  metrics.budget("*", "1h", 0, 1, 1);
  metrics.upstream("send", "2xx", 0.1);
  metrics.answered("/v1/otp/send", 200, 0.01);
  metrics.delivery("IN", "delivered", 4);
  metrics.spend("IN", 0.25);
  for (const event of ["refused", "monitored", "sent", "verified"] as const) metrics.pumping("IN", event);
  const { help, types, labels } = readPage((await metrics.render()).body);
  const rows = [...types].map(([name, type]) => {
    const shown = [...(labels.get(name) ?? [])].map((l) => `\`${l}\``).join(", ");
    return `| \`${name}\` | ${type} | ${shown} | ${(help.get(name) ?? "").replaceAll("|", "\\|")} |`;
  });
  return ["| metric | type | labels | what |", "|---|---|---|---|", ...rows].join("\n");
}

/** Each metric's help text, type and label names, from a page in the exposition format. */
function readPage(body: string) {
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of body.split("\n")) {
    const described = /^# HELP (\S+) (.*)$/.exec(line);
    if (described?.[1] && described[2] !== undefined) help.set(described[1], helpText(described[2]));
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed?.[1] && typed[2]) types.set(typed[1], typed[2]);
    const sample = /^([a-z_]+?)(?:_bucket|_sum|_count)?\{([^}]*)\}/.exec(line);
    if (!sample?.[1] || !sample[2] || !types.has(sample[1])) continue;
    const names = labels.get(sample[1]) ?? new Set<string>();
    for (const pair of sample[2].split(",")) names.add(pair.split("=")[0] ?? "");
    names.delete("le");
    labels.set(sample[1], names);
  }
  return { help, types, labels };
}

/** A HELP line's text as written: `\\` and `\n` escaped by the exposition format. */
const helpText = (text: string) => text.replaceAll("\\n", "\n").replaceAll("\\\\", "\\");
