/** A route as Elysia lists it (`app.routes`). */
interface RouteEntry {
  method: string;
  path: string;
}

/**
 * Which methods a path answers, worked out once from the app's routes (after
 * they are all registered): a known path asked with another method gets 405
 * and `Allow`, and OPTIONS gets `Allow`.
 */
export class RouteMethods {
  #exact?: Map<string, Set<string>>;
  #patterns: [RegExp, Set<string>][] = [];

  constructor(private readonly routes: () => readonly RouteEntry[]) {}

  /** The `Allow` value for a path, or undefined for a path no route has. */
  allow(path: string): string | undefined {
    const exact = this.#exact ?? this.#build();
    const methods = exact.get(path) ?? this.#patterns.find(([re]) => re.test(path))?.[1];
    return methods ? [...methods].join(", ") : undefined;
  }

  #build(): Map<string, Set<string>> {
    const exact = new Map<string, Set<string>>();
    const patterns = new Map<string, [RegExp, Set<string>]>();
    for (const { method, path } of this.routes()) {
      if (method === "ALL" || method === "OPTIONS") continue;
      const dynamic = /[:*]/.test(path);
      let methods = dynamic ? patterns.get(path)?.[1] : exact.get(path);
      if (!methods) {
        methods = new Set();
        if (dynamic) patterns.set(path, [patternOf(path), methods]);
        else exact.set(path, methods);
      }
      methods.add(method);
      if (method === "GET") methods.add("HEAD"); // Bun answers HEAD for a GET route
      methods.add("OPTIONS");
    }
    this.#exact = exact;
    this.#patterns = [...patterns.values()];
    return exact;
  }
}

function patternOf(path: string): RegExp {
  const escaped = path
    .split("/")
    .map((part) =>
      part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${escaped}$`);
}
