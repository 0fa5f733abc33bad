import diagnostics from "node:diagnostics_channel";

/**
 * Gives Bun's TracingChannel the `hasSubscribers` getter Node's has (Node 22):
 * true when any of its five channels has a subscriber. ioredis reads it to skip
 * tracing when nobody listens; undefined, as in Bun 1.4, it traces every command
 * (each argument turned to a string and matched against a list of regular
 * expressions, a wrapper promise): a few µs of CPU per command for no listener.
 * Called before ioredis is loaded; does nothing where the getter exists.
 */
export function defineTracingHasSubscribers(): void {
  const proto = Object.getPrototypeOf(diagnostics.tracingChannel("otp-gateway:probe")) as object;
  if ("hasSubscribers" in proto) return;
  Object.defineProperty(proto, "hasSubscribers", {
    configurable: true,
    get(this: Record<"start" | "end" | "asyncStart" | "asyncEnd" | "error", { hasSubscribers: boolean }>) {
      return (
        this.start.hasSubscribers ||
        this.end.hasSubscribers ||
        this.asyncStart.hasSubscribers ||
        this.asyncEnd.hasSubscribers ||
        this.error.hasSubscribers
      );
    },
  });
}
