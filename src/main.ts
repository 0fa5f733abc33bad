// The process entry: no exports (a compiled --bytecode binary needs none), just the CLI.
import { runCli } from "./cli";

// Exit explicitly: after a clean stop, idle sockets or timers must not keep the process alive.
process.exit(await runCli(process.argv.slice(2)));
