import { expect, test } from "bun:test";

/**
 * CI runs the benchmark only as a short smoke (1 s per scenario): it checks that
 * the harness starts everything, drives every scenario and writes its report,
 * and that every answer was the expected one. The figures are not judged here.
 */
test("bun run bench --smoke runs every scenario with the expected answers and writes its report", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const proc = Bun.spawn(["bun", "bench/run.ts", "--smoke"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(code, `${out}\n${err}`).toBe(0);
  const report = await Bun.file(`${root}bench/results/smoke.json`).json();
  expect(report.rows.length).toBe(16); // every scenario of bench/run.ts, the three paced ones included
  for (const row of report.rows) {
    expect(row.rps, row.name).toBeGreaterThan(0);
    expect(row.cpu_us_per_req, `${row.name}: server CPU per request`).toBeGreaterThan(0);
    expect(row.unexpected_status, `${row.name}: answers other than expected`).toBe(0);
    expect(row.socket_errors, `${row.name}: socket errors`).toBeLessThanOrEqual(row.requests * 0.01);
  }
  expect(report.flood.distinct_addresses).toBeGreaterThan(0);
  // The paced rows ran at the one rate they were given (half the gateway's peak), the floor and the gateway alike.
  const paced = report.rows.filter((r: { name: string }) => r.name.includes("paced at"));
  expect(paced).toHaveLength(3);
  expect(report.p99_at_half_peak.floor_p99_ms).toBeGreaterThan(0);
  for (const row of paced.slice(1)) {
    expect(Math.abs(paced[0].rps - row.rps)).toBeLessThan(Math.max(paced[0].rps, row.rps) * 0.35);
  }
  expect(report.spend_guard.cpu_us_per_send_paced).toBeNumber();
  expect(await Bun.file(`${root}bench/results/smoke.md`).text()).toContain(
    "| ratio | value (req/s) | by server CPU per request | target | met |",
  );
}, 120_000);

/**
 * The pumping benchmark as a short smoke: it runs the three modes through the
 * compiled gateway; enforce sends fewer attack SMS than off and refuses no
 * legitimate send for pumping; then its real-time runs, short. The figures
 * themselves are judged in BENCHMARKS.md.
 */
test("bun run bench:pumping --smoke runs the three modes; enforce sends less to the attack and refuses no user", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const proc = Bun.spawn(["bun", "bench/pumping.ts", "--smoke"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(code, `${out}\n${err}`).toBe(0);
  const report = await Bun.file(`${root}bench/results/pumping-smoke.json`).json();
  const [off, monitor, enforce] = report.rows;
  expect(report.rows.map((r: { mode: string }) => r.mode)).toEqual(["off", "monitor", "enforce"]);
  expect(off.attack_sms.total).toBeGreaterThan(0);
  expect(monitor.legit_refused_by_pumping_guard).toBe(0);
  expect(enforce.attack_sms.total).toBeLessThan(off.attack_sms.total);
  expect(enforce.legit_refused_by_pumping_guard).toBe(0);
  expect(enforce.legit_sms).toBeGreaterThan(0);
  // The simulated users verify their codes through the gateway (the guard judges by that): most do.
  for (const row of report.rows) expect(row.legit_verified, row.mode).toBeGreaterThan(row.legit_sms / 2);
  // Then in real time from a cold start: each attack held to its bounds (10 a block, 30 a range, a
  // place back per code it verifies), no real user refused by a guard rule, every guard key with a TTL.
  const live = await Bun.file(`${root}bench/results/pumping-live-smoke.json`).json();
  expect(live.rows).toHaveLength(8);
  for (const row of live.rows) {
    expect(row.attack_sms_per_block_max, row.attacker).toBeLessThanOrEqual(10);
    expect(row.attack_sms_10m, row.attacker).toBeLessThanOrEqual(row.attacker === "V" ? 40 : 30);
    const guardRules = ["block", "range", "block-unproven", "range-unproven", "budget-reserve"];
    for (const rule of guardRules) expect(row.legit_refused_by[rule] ?? 0, `${row.attacker} ${rule}`).toBe(0);
  }
  expect(live.keys.guard_keys).toBeGreaterThan(0);
  expect(live.keys.guard_keys_without_ttl).toBe(0);
  const cases = new Map(live.cases.map((c: { case: string; result: string }) => [c.case.split(":")[0], c]));
  expect(String((cases.get("block") as { result: string }).result)).toContain("returning user served");
}, 180_000);

/**
 * The GET-flood benchmark as a short smoke: four routes, each looped from one address while a
 * client sends codes; every answer is the expected one (a 429 past the GET limit counts as one).
 */
test("bun run bench:get-flood --smoke floods four GET routes with the expected answers and writes its report", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const proc = Bun.spawn(["bun", "bench/get-flood.ts", "--smoke"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(code, `${out}\n${err}`).toBe(0);
  const report = await Bun.file(`${root}bench/results/get-flood-smoke.json`).json();
  expect(report.rows.map((r: { path: string }) => r.path)).toEqual([
    "/",
    "/healthz",
    "/metrics",
    "/swagger/json",
  ]);
  for (const row of report.rows) {
    expect(row.unexpected, `${row.path}: answers other than expected`).toBe(0);
    expect(row.sender_p50_ms, row.path).toBeGreaterThan(0);
    if (row.path !== "/") {
      expect(row.cpu_us_per_req, `${row.path}: server CPU per request`).toBeGreaterThan(0);
    }
  }
}, 120_000);
