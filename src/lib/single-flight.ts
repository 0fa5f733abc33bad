/**
 * `fn` with at most one call in flight: whoever asks while it runs gets the
 * same promise, so a flood of callers makes one call (a readiness probe).
 */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/**
 * `fn`'s last result while it is younger than `maxAgeMs`, else a new call,
 * shared by whoever asks meanwhile: however often it is asked, `fn` runs at
 * most once per `maxAgeMs` (an expensive page a stranger may ask for in a
 * loop). A failed call is not kept.
 */
export function sharedFor<T>(
  maxAgeMs: number,
  fn: () => Promise<T>,
  now: () => number = performance.now.bind(performance),
) {
  let last: { at: number; value: T } | undefined;
  const call = singleFlight(async () => {
    const value = await fn();
    last = { at: now(), value };
    return value;
  });
  return (): Promise<T> => (last && now() - last.at < maxAgeMs ? Promise.resolve(last.value) : call());
}
