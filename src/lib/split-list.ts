/** A comma-separated setting's entries, trimmed, empty ones dropped. */
export const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
