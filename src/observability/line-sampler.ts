/**
 * At most `perSecond` log lines of one kind a second; the rest are not written
 * but counted, and a second after the first of them their number is handed to
 * `report` (which writes one line saying so). For lines a flood makes by the
 * thousand a second, alike but for their request id and address.
 */
export class LineSampler {
  #windowEnds = Number.NEGATIVE_INFINITY;
  #written = 0;
  #skipped = 0;
  #reportDue = false;

  constructor(
    private readonly perSecond: number,
    private readonly report: (skipped: number) => void,
    private readonly now: () => number = () => performance.now(),
    /** Runs `fn` after `ms`; default an unref'd timer (a pending report does not keep the process alive). */
    private readonly schedule: (fn: () => void, ms: number) => void = (fn, ms) => setTimeout(fn, ms).unref(),
  ) {}

  /** Whether this line is to be written; when not, it is counted for the next report. */
  admit(): boolean {
    const now = this.now();
    if (now >= this.#windowEnds) {
      this.#windowEnds = now + 1_000;
      this.#written = 0;
    }
    if (this.#written < this.perSecond) {
      this.#written += 1;
      return true;
    }
    this.#skipped += 1;
    if (!this.#reportDue) {
      this.#reportDue = true;
      this.schedule(() => this.#report(), 1_000);
    }
    return false;
  }

  #report(): void {
    const skipped = this.#skipped;
    this.#skipped = 0;
    this.#reportDue = false;
    this.report(skipped);
  }
}
