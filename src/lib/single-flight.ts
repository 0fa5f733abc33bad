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
