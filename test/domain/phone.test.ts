import { describe, expect, test } from "bun:test";
import packageMetadata from "libphonenumber-js/metadata.max.json";
import { metadataOfModule } from "../../src/domain/phone";

describe("phone numbers", () => {
  test("the metadata read from the embedded module text is the package's own, whole", async () => {
    // The text phone.ts embeds: the same path, resolved the same way (to the package's ES module).
    const text = await Bun.file(
      Bun.resolveSync("libphonenumber-js/metadata.max.json", import.meta.dir),
    ).text();
    const metadata = metadataOfModule(text);
    expect(metadata).toEqual(packageMetadata);
    expect(Object.keys(metadata.countries).length).toBeGreaterThan(200);
    expect(() => metadataOfModule("module.exports = {}")).toThrow("no default export");
  });
});
