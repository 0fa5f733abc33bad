import { describe, expect, test } from "bun:test";
import { BoundedSink, type ByteSink } from "../../src/observability/log-sink";
import { must } from "../support/given";

/** A sink whose reader is stuck until `release()`. */
function stuckSink() {
  const chunks: string[] = [];
  let release = () => {};
  const sink: ByteSink = {
    write: (chunk: string) => chunks.push(chunk),
    flush: () =>
      new Promise<number>((resolve) => {
        release = () => resolve(0);
      }),
    end: () => undefined,
  };
  return { sink, chunks, release: () => release() };
}

describe("the bounded log sink", () => {
  test("while the reader is stuck, lines wait in a bounded buffer; the rest are dropped, counted, noticed once", async () => {
    const { sink, chunks, release } = stuckSink();
    const notices: string[] = [];
    const bounded = new BoundedSink(sink, (text) => notices.push(text), 10_000);
    const line = "x".repeat(99); // 100 characters with its newline
    bounded.write(line);
    await Bun.sleep(1); // the first batch goes to the sink, whose flush then hangs
    for (let i = 0; i < 1_000; i++) bounded.write(line);
    await Bun.sleep(1);
    expect(chunks).toHaveLength(1); // nothing more is handed to a sink that has not taken the last batch
    expect(bounded.dropped).toBe(900); // 100 lines of 100 fit in 10 000
    expect(notices).toHaveLength(1);
    release();
    await Bun.sleep(5);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]?.split("\n").filter(Boolean)).toHaveLength(100);
    release();
    bounded.write("after");
    await Bun.sleep(5);
    expect(chunks.at(-1)).toBe("after\n"); // the buffer is free again
    expect(notices).toHaveLength(1);
  });

  test("a reader that keeps up loses nothing, in order", async () => {
    const chunks: string[] = [];
    const bounded = new BoundedSink(
      { write: (c: string) => chunks.push(c), flush: () => 0, end: () => undefined },
      () => {},
      1_000,
    );
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 9; i++) bounded.write(`${round}-${i}`);
      await Bun.sleep(0);
    }
    const lines = chunks.join("").split("\n").filter(Boolean);
    expect(lines).toHaveLength(450);
    expect(lines[0]).toBe("0-0");
    expect(lines.at(-1)).toBe("49-8");
    expect(bounded.dropped).toBe(0);
  });

  test("stdout on a pipe nobody reads: 250 000 lines leave memory flat and the process responsive", async () => {
    /** Runs the child with its stdout on a pipe that `sleep` never reads; its stderr report. */
    const run = async (env: Record<string, string>) => {
      const child = Bun.spawn(["bash", "-c", "bun test/support/children/log-flood.ts | sleep 30"], {
        stdout: "ignore",
        stderr: "pipe",
        env: { ...process.env, LINES: "250000", ...env },
      });
      let text = "";
      const deadline = Date.now() + 60_000;
      for await (const chunk of child.stderr) {
        text += new TextDecoder().decode(chunk);
        if (text.includes("grownMiB") || Date.now() > deadline) break;
      }
      child.kill();
      const lines = text.trim().split("\n");
      const report = JSON.parse(
        must(
          lines.find((l) => l.includes("grownMiB")),
          `a report in ${text}`,
        ),
      ) as {
        grownMiB: number;
        dropped: number;
      };
      return { ...report, notices: lines.filter((l) => l.includes("stdout is not being read")).length };
    };
    const baseline = await run({ DISCARD: "1" }); // the same work, lines written nowhere
    const stuck = await run({});
    expect(stuck.notices).toBe(1);
    expect(stuck.dropped).toBeGreaterThan(200_000); // 64 KiB of pipe and 1 MiB of buffer hold a few thousand
    // Unbounded, the lines stay in memory: some 40 MiB more than the baseline.
    expect(stuck.grownMiB - baseline.grownMiB).toBeLessThan(12);
  }, 130_000);
});
