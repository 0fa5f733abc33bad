// The process entry: no exports (a compiled --bytecode binary needs none), just the CLI.
import { runCli } from "./cli";
import { closeStdoutLog } from "./observability/logger";

const code = await runCli(process.argv.slice(2));
// Drain the log first: process.exit would drop lines a slow log collector has not taken yet.
await closeStdoutLog();
// Exit explicitly: after a clean stop, idle sockets or timers must not keep the process alive.
process.exit(code);
