import { Counter, type Registry } from "prom-client";

/**
 * Counts by one label in a plain Map, handed to a prom-client counter when it is
 * collected (at scrape time): the hot path then pays one Map update instead of
 * prom-client's label hashing on every request.
 */
export class Tally {
  readonly #pending = new Map<string, number>();
  add(label: string, amount = 1): void {
    this.#pending.set(label, (this.#pending.get(label) ?? 0) + amount);
  }
  drainInto(counter: Counter<string>, labelName: string): void {
    for (const [label, count] of this.#pending) counter.inc({ [labelName]: label }, count);
    this.#pending.clear();
  }
}

/** A counter with one label whose increments are tallied until collected. */
export function tallied(counter: { name: string; help: string; labelName: string; registers: Registry[] }): {
  tally: Tally;
  counter: Counter<string>;
} {
  const tally = new Tally();
  const { labelName } = counter;
  const made = new Counter({
    name: counter.name,
    help: counter.help,
    labelNames: [labelName],
    registers: counter.registers,
    collect() {
      tally.drainInto(this, labelName);
    },
  });
  return { tally, counter: made };
}
