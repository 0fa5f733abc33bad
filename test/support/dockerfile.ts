// Reads what the Dockerfile's last (runtime) stage says the image holds, to compare the image the
// suite builds, and compose.yaml, with it.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface RuntimeStage {
  from: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  user: string;
  expose: string[];
  /** HEALTHCHECK's options (interval, timeout, start-period, retries) and its CMD. */
  healthcheck: { options: Record<string, string>; test: string[] };
  entrypoint: string[];
  cmd: string[];
}

/** `key=value` pairs, values optionally double-quoted, as LABEL and ENV write them. */
function pairs(text: string, args: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, key = "", quoted, bare] of text.matchAll(/([\w.-]+)=(?:"([^"]*)"|(\S+))/g)) {
    out[key] = (quoted ?? bare ?? "").replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? "");
  }
  return out;
}

/** HEALTHCHECK's body: its `--option=value`s, then `CMD [...]` (stored in the image as ["CMD", ...]). */
function healthcheck(body: string): RuntimeStage["healthcheck"] {
  const cmdAt = body.indexOf("CMD ");
  const options = [...body.slice(0, cmdAt).matchAll(/--([\w-]+)=(\S+)/g)].map((m) => [m[1], m[2]]);
  return { options: Object.fromEntries(options), test: ["CMD", ...JSON.parse(body.slice(cmdAt + 4))] };
}

type Instruction = (stage: RuntimeStage, body: string, args: Record<string, string>) => void;

/** The instructions that say what the image holds; the others (COPY, WORKDIR ...) are skipped. */
const INSTRUCTIONS: Record<string, Instruction> = {
  ARG: (_, body, args) => Object.assign(args, pairs(body, args)),
  LABEL: (stage, body, args) => Object.assign(stage.labels, pairs(body, args)),
  ENV: (stage, body, args) => Object.assign(stage.env, pairs(body, args)),
  USER: (stage, body) => {
    stage.user = body;
  },
  EXPOSE: (stage, body) => stage.expose.push(...body.split(/\s+/)),
  ENTRYPOINT: (stage, body) => {
    stage.entrypoint = JSON.parse(body);
  },
  CMD: (stage, body) => {
    stage.cmd = JSON.parse(body);
  },
  HEALTHCHECK: (stage, body) => {
    stage.healthcheck = healthcheck(body);
  },
};

export function runtimeStage(path = join(ROOT, "Dockerfile")): RuntimeStage {
  // One instruction a line: continuations joined, comments dropped.
  const lines = readFileSync(path, "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  const start = lines.findLastIndex((line) => line.startsWith("FROM "));
  const stage: RuntimeStage = {
    from: lines[start]?.split(/\s+/)[1] ?? "",
    labels: {},
    env: {},
    user: "",
    expose: [],
    healthcheck: { options: {}, test: [] },
    entrypoint: [],
    cmd: [],
  };
  const args: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    INSTRUCTIONS[keyword]?.(stage, rest.join(" "), args);
  }
  return stage;
}

/** A Dockerfile duration (`10s`, `1m30s`, `500ms`) in nanoseconds, as image configs store it. */
export function durationNs(text: string): number {
  const unit: Record<string, number> = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  for (const [, n, u = ""] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * (unit[u] ?? 0);
  return total;
}
