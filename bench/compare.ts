// `bun bench/compare.ts <old-binary> <new-binary> [--rounds 4] [--only <regex>] [--duration 10]`:
// two builds of the gateway under the same scenarios of bench/run.ts, in paired runs: round after
// round, old then new, then new then old, so that a noisy minute touches both alike. Prints each
// scenario's server CPU per request for both (the median of the rounds) and their ratio.
const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args.includes(`--${name}`) ? (args[args.indexOf(`--${name}`) + 1] ?? fallback) : fallback;
const [oldBinary, newBinary] = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
if (!oldBinary || !newBinary) {
  console.error(
    "usage: bun bench/compare.ts <old-binary> <new-binary> [--rounds 4] [--only <regex>] [--duration 10]",
  );
  process.exit(2);
}
const ROUNDS = Number(option("rounds", "4"));
const ONLY = option(
  "only",
  "gateway: accepted send$|gateway: verify|gateway: send denied by the per-IP limit",
);
const DURATION = option("duration", "10");
const ROOT = new URL("..", import.meta.url).pathname;

/** One run of bench/run.ts on `binary`: server CPU per request by scenario. */
async function run(binary: string): Promise<Map<string, number>> {
  const proc = Bun.spawn(["bun", "bench/run.ts", "--no-build", "--only", ONLY, "--duration", DURATION], {
    cwd: ROOT,
    env: { ...process.env, OTP_BENCH_GATEWAY: binary },
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`bench/run.ts failed:\n${out}`);
  const rows = new Map<string, number>();
  for (const line of out.split("\n")) {
    const match = /^(gateway: .+?)\s+\d+ req\/s .* cpu (\d+) µs\/req/.exec(line);
    if (match?.[1] && match[2]) rows.set(match[1].trim(), Number(match[2]));
  }
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
const cpu = { old: new Map<string, number[]>(), new: new Map<string, number[]>() };
for (let round = 1; round <= ROUNDS; round++) {
  const order: ("old" | "new")[] = round % 2 ? ["old", "new"] : ["new", "old"];
  for (const which of order) {
    const rows = await run(which === "old" ? oldBinary : newBinary);
    for (const [name, us] of rows) cpu[which].set(name, [...(cpu[which].get(name) ?? []), us]);
    console.log(`round ${round} ${which}: ${[...rows].map(([n, us]) => `${n} ${us} µs`).join("; ")}`);
  }
}
console.log(`\n| scenario | old µs/req | new µs/req | new ÷ old | rounds |\n|---|---:|---:|---:|---:|`);
for (const [name, runs] of cpu.old) {
  const [before, after] = [median(runs), median(cpu.new.get(name) ?? [])];
  console.log(`| ${name} | ${before} | ${after} | ${(after / before).toFixed(2)} | ${runs.length} |`);
}
