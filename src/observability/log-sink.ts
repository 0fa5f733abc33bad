/** What BoundedSink writes to: Bun's FileSink for stdout, or a test's. */
export interface ByteSink {
  write(chunk: string): unknown;
  /** Bytes written, or a promise while the reader is behind (a full pipe). */
  flush(): number | Promise<number>;
  end(): unknown;
}

/** Lines held while stdout is not being read; past this they are dropped. */
export const LOG_BUFFER_BYTES = 1 << 20;

/**
 * Log lines to a sink, batched once per turn of the event loop, in bounded
 * memory: while the sink has not taken the last batch (nobody reads stdout: a
 * stuck log driver), lines wait in a buffer of at most `capBytes`, and what does
 * not fit is dropped and counted, with one notice on stderr. Nothing blocks:
 * requests go on being answered, only their lines are lost.
 */
export class BoundedSink {
  #queued: string[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  /** The sink's flush of the last batch, while it is pending. */
  #inFlight: Promise<unknown> | undefined;
  #dropped = 0;
  #noticed = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly notice: (text: string) => void,
    private readonly capBytes = LOG_BUFFER_BYTES,
  ) {}

  /** Lines dropped so far because the reader fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): void {
    // Characters, not bytes: log lines are ASCII but for the odd name; close enough for a bound.
    const size = line.length + 1;
    if (this.#queuedBytes + size > this.capBytes) {
      this.#dropped += 1;
      if (!this.#noticed) {
        this.#noticed = true;
        this.notice(
          "otp-gateway: stdout is not being read; log lines are dropped until it is (see otp_gateway_log_lines_dropped_total)\n",
        );
      }
      return;
    }
    this.#queued.push(line);
    this.#queuedBytes += size;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#inFlight || this.#queued.length === 0) return;
    this.sink.write(`${this.#queued.join("\n")}\n`);
    this.#queued = [];
    this.#queuedBytes = 0;
    const flushed = this.sink.flush();
    if (typeof flushed === "number") return;
    this.#inFlight = flushed.then(
      () => this.#settled(),
      () => this.#settled(),
    );
  }

  #settled(): void {
    this.#inFlight = undefined;
    if (this.#queued.length > 0) this.#schedule();
  }

  /** Writes what is buffered and waits until the sink has taken it (before exit). */
  async close(): Promise<void> {
    while (this.#inFlight || this.#queued.length > 0) {
      if (this.#inFlight) await this.#inFlight;
      else this.#drain();
    }
    await this.sink.end();
  }
}
