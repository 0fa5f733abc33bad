import type { DeliveryReport, SmsProvider } from "../../adapters/sms/port";
import type { DeliveryStore } from "../../adapters/store/port";
import type { VerificationRef } from "../../domain/ids";
import type { RatePolicy } from "../../domain/rate-policy";
import { type DeliveryStatus, isFinalDelivery } from "../../domain/verification-status";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

export interface DeliveryPolicy {
  /** DELIVERY_STATUS: `off` follows nothing. */
  mode: "poll" | "off";
  /** DELIVERY_POLL_PACE: requests about deliveries, every gateway's together. */
  pace: RatePolicy;
  /** Deliveries followed at once by this process; past it a send's delivery stays `unknown`. */
  maxTracked: number;
  /** Waits between a send and its polls, the last one repeated; default 2 s doubling to 60 s. */
  backoffMs?: readonly number[];
}

export interface DeliveryTrackerDeps {
  provider: SmsProvider;
  store: DeliveryStore;
  policy: DeliveryPolicy;
  metrics: Metrics;
  logger: Logger;
}

/** One SMS whose delivery is followed. */
interface Followed {
  id: VerificationRef;
  key: string;
  messageId: string;
  country: string;
  sentAtMs: number;
  expiresAtMs: number;
  polls: number;
  last: DeliveryStatus;
}

const BACKOFF_MS = [2_000, 4_000, 8_000, 15_000, 30_000, 60_000];
/** While the shared pace refuses, the dispatcher waits about this long before it asks again. */
const PACE_WAIT_MS = 250;
/** Polls at the upstream at once, from this process: a slow upstream holds this many sockets at most. */
const MAX_IN_FLIGHT = 8;
/** The longest pause a 429's Retry-After may impose on every poll of this process. */
const MAX_PAUSE_MS = 60_000;
/** At most one warning a minute that deliveries go unfollowed. */
const WARN_EVERY_MS = 60_000;

/**
 * Follows what becomes of each SMS the upstream gave a message id for: asks it (SmsProvider.delivery)
 * with backoff until the status is final (delivered, failed) or the code expires, keeping each step
 * further along on the verification's record.
 *
 * Each delivery waits for its next poll on a timer; a poll that is due joins one queue, which one
 * dispatcher drains: it takes a place in the pace every gateway on the store shares
 * (DELIVERY_POLL_PACE; one store call a place, or one every PACE_WAIT_MS while the pace is full,
 * however many polls wait), keeps at most MAX_IN_FLIGHT polls at the upstream, and stops every poll
 * for as long as a 429 asks. So polling never crowds out the sends, at the upstream or in the store.
 * The timers are this process's: a gateway that stops leaves its sends' deliveries where they were.
 */
export class DeliveryTracker {
  readonly #followed = new Map<string, { item: Followed; timer?: ReturnType<typeof setTimeout> }>();
  readonly #due: Followed[] = [];
  readonly #backoff: readonly number[];
  #inFlight = 0;
  #draining = false;
  #pausedUntil = 0;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #stopped = false;

  constructor(private readonly deps: DeliveryTrackerDeps) {
    this.#backoff = deps.policy.backoffMs ?? BACKOFF_MS;
  }

  /** Whether sends' deliveries are followed at all: polling on, and a provider that can tell. */
  get enabled(): boolean {
    return this.deps.policy.mode === "poll" && this.deps.provider.delivery !== undefined;
  }

  /** Deliveries followed now. */
  get size(): number {
    return this.#followed.size;
  }

  track(
    id: VerificationRef,
    sent: { messageId: string; country: string; sentAtMs: number; expiresAtMs: number },
  ) {
    if (!this.enabled || this.#stopped) return;
    const key = `${id.tag}.${id.inner}`;
    if (this.#followed.has(key)) return; // an idempotent replay of a send already followed
    if (this.#followed.size >= this.deps.policy.maxTracked) {
      if (Date.now() - this.#warnedAt >= WARN_EVERY_MS) {
        this.#warnedAt = Date.now();
        this.deps.logger.warn("deliveries not followed: too many followed at once", {
          followed: this.#followed.size,
        });
      }
      return;
    }
    this.#wait({ ...sent, id, key, polls: 0, last: "unknown" }, this.#backoff[0] ?? 2_000);
  }

  /** Stops following every delivery (shutdown, tests): no poll starts after this. */
  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#followed.values()) clearTimeout(timer);
    this.#followed.clear();
    this.#due.length = 0;
    this.#wake?.();
  }

  /** The delivery's next poll after `delayMs` (at its code's expiry at the latest). */
  #wait(item: Followed, delayMs: number): void {
    if (this.#stopped) return;
    const wait = Math.max(0, Math.min(delayMs, item.expiresAtMs - Date.now()));
    const timer = setTimeout(() => this.#enqueue(item), wait);
    timer.unref?.();
    this.#followed.set(item.key, { item, timer });
  }

  #enqueue(item: Followed): void {
    if (this.#stopped) return;
    this.#followed.set(item.key, { item });
    this.#due.push(item);
    void this.#drain();
  }

  /** The one dispatcher: due polls in order, each with a place in the shared pace, a few at a time. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (!this.#stopped && this.#due.length > 0 && this.#inFlight < MAX_IN_FLIGHT) {
        const item = this.#due[0] as Followed;
        if (Date.now() >= item.expiresAtMs) {
          this.#due.shift();
          this.#finish(item, "unknown");
          continue;
        }
        const pause = this.#pausedUntil - Date.now();
        if (pause > 0 || !(await this.#place())) {
          await this.#nap(Math.max(pause, PACE_WAIT_MS * (0.5 + Math.random())));
          continue;
        }
        // The store's answer took a round trip: stopped, expired or paused meanwhile, the place goes unused.
        if (this.#stopped) break;
        if (Date.now() >= item.expiresAtMs || this.#pausedUntil > Date.now()) continue;
        this.#due.shift();
        this.#inFlight += 1;
        void this.#poll(item).finally(() => {
          this.#inFlight -= 1;
          void this.#drain();
        });
      }
    } finally {
      this.#draining = false;
    }
  }

  /** A place in the pace every gateway shares; none while the store cannot say (or throws). */
  #place(): Promise<boolean> {
    return Promise.resolve()
      .then(() => this.deps.store.takeDeliveryPoll(this.deps.policy.pace))
      .catch(() => false);
  }

  #wake?: () => void;

  /** The dispatcher's wait: a timer that does not keep the process alive, and that stop() ends. */
  #nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref?.();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #poll(item: Followed): Promise<void> {
    const { provider, store, logger } = this.deps;
    item.polls += 1;
    try {
      const report: DeliveryReport = await (provider.delivery?.(item.messageId) ??
        Promise.resolve({ status: "unknown" }));
      if (report.retryAfterMs !== undefined) {
        this.#pausedUntil = Math.max(
          this.#pausedUntil,
          Date.now() + Math.min(report.retryAfterMs, MAX_PAUSE_MS),
        );
      }
      if (report.status !== "unknown" && report.status !== item.last) {
        item.last = report.status;
        await store.recordDelivery(item.id, report.status, Date.now()).catch(() => undefined);
      }
      if (isFinalDelivery(report.status)) return this.#finish(item, report.status);
    } catch (err) {
      logger.debug("delivery status not read; asking again later", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    if (this.#stopped) return;
    if (Date.now() >= item.expiresAtMs) return this.#finish(item, "unknown");
    this.#wait(item, this.#backoff[Math.min(item.polls, this.#backoff.length - 1)] ?? 60_000);
  }

  #finish(item: Followed, status: DeliveryStatus): void {
    this.#followed.delete(item.key);
    const outcome = status === "delivered" || status === "failed" ? status : "unknown";
    this.deps.metrics.delivery(item.country, outcome, (Date.now() - item.sentAtMs) / 1000);
  }
}
