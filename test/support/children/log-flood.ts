// A child for test/observability/log-sink.test.ts: writes LINES request lines through the gateway's
// logger to stdout (or, with DISCARD=1, to nowhere: the baseline), then reports on stderr
// (as JSON) its RSS growth and the lines dropped.
import { closeStdoutLog, createLogger, droppedLogLines } from "../../../src/observability/logger";

const lines = Number(process.env.LINES ?? "250000");
const logger = createLogger({ level: "info", ...(process.env.DISCARD === "1" ? { write: () => {} } : {}) });
const rss = () => process.memoryUsage().rss;
Bun.gc(true);
const before = rss();
for (let i = 0; i < lines; i++) {
  logger.info("request", {
    requestId: crypto.randomUUID(),
    method: "POST",
    path: "/v1/otp/send",
    status: 429,
    ms: 0.1,
  });
  if (i % 1000 === 999) await Bun.sleep(0); // let the event loop flush, as a server's would
}
await Bun.sleep(50);
Bun.gc(true);
const grownMiB = (rss() - before) / 1048576;
process.stderr.write(`${JSON.stringify({ grownMiB, dropped: droppedLogLines() })}\n`);
await closeStdoutLog(500);
process.exit(0);
