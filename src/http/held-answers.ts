/**
 * Refusals held back before they are sent: a client that loops on a refused
 * route, waiting for each answer before it asks again, then asks once per
 * `holdMs` on each connection instead of as fast as the gateway can refuse it
 * (and every refusal, however cheap, takes a turn of the one thread that also
 * serves real sends). A well-behaved client waits for Retry-After anyway. At
 * most `max` answers are held at once; past that they go out at once, so the
 * memory held is bounded whatever a client does.
 */
export class HeldAnswers {
  #held = 0;

  constructor(
    readonly holdMs = 1_000,
    /** About 1 KiB each: 4 MiB at most. A client with more connections than this gets the rest at once. */
    readonly max = 4_096,
  ) {}

  hold(response: Response): Response | Promise<Response> {
    if (this.#held >= this.max) return response;
    this.#held += 1;
    return Bun.sleep(this.holdMs).then(() => {
      this.#held -= 1;
      return response;
    });
  }

  /** Answers being held now. */
  get size(): number {
    return this.#held;
  }
}
