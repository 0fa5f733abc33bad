// Generates the TypeScript types of the API (test/contract/otp-gateway.ts) from the OpenAPI
// document with openapi-typescript, the way a client author would; the contract test checks
// that the committed file is what the served document makes.
//   bun scripts/client-types.ts           writes the file
//   bun scripts/client-types.ts --print   prints it instead
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
export const CLIENT_TYPES = join(ROOT, "test/contract/otp-gateway.ts");
const CLI = join(ROOT, "tools/openapi-client/node_modules/openapi-typescript/bin/cli.js");

/** The types openapi-typescript makes of a document (given as JSON text). */
export async function clientTypes(documentJson: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "otp-client-"));
  try {
    await Bun.write(join(dir, "openapi.json"), documentJson);
    const proc = Bun.spawn(["node", CLI, join(dir, "openapi.json"), "-o", join(dir, "types.ts")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if ((await proc.exited) !== 0) {
      throw new Error(`openapi-typescript failed: ${await new Response(proc.stderr).text()}`);
    }
    return await Bun.file(join(dir, "types.ts")).text();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const doc = Bun.spawnSync(["bun", join(ROOT, "src/main.ts"), "openapi"], { stderr: "inherit" });
  if (doc.exitCode !== 0) process.exit(1);
  const types = await clientTypes(doc.stdout.toString());
  if (process.argv.includes("--print")) process.stdout.write(types);
  else await Bun.write(CLIENT_TYPES, types);
}
