// biome-ignore lint/suspicious/noExplicitAny: an arbitrary OpenAPI document
export type Json = Record<string, any>;

/** The node itself, or what its `$ref` (`#/components/…`) points at inside `doc`, followed to the end. */
export const resolveRef = (doc: Json, node: Json): Json =>
  node.$ref
    ? resolveRef(
        doc,
        node.$ref
          .slice(2)
          .split("/")
          .reduce((n: Json, k: string) => n[k], doc),
      )
    : node;
