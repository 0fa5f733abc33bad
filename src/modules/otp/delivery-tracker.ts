import type { SmsProvider } from "../../adapters/sms/port";
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
/** While the shared pace refuses, a poll waits about this long and asks again (not counted as a poll). */
const PACE_WAIT_MS = 1_000;

/**
 * Follows what becomes of each SMS the upstream gave a message id for: asks it (SmsProvider.delivery)
 * with backoff until the status is final (delivered, failed) or the code expires, keeping each step
 * further along on the verification's record. Every request takes a place in a pace shared by every
 * gateway on the store (DELIVERY_POLL_PACE), so polling never crowds out the sends. The timers are
 * this process's: a gateway that stops leaves its sends' deliveries `unknown`. Nothing here ever
 * delays or fails a send.
 */
export class DeliveryTracker {
  readonly #followed = new Map<string, { item: Followed; timer: ReturnType<typeof setTimeout> }>();
  readonly #backoff: readonly number[];

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
    if (!this.enabled) return;
    const key = `${id.tag}.${id.inner}`;
    if (this.#followed.has(key)) return; // an idempotent replay of a send already followed
    if (this.#followed.size >= this.deps.policy.maxTracked) {
      this.deps.logger.warn("delivery not followed: too many deliveries followed at once", {
        followed: this.#followed.size,
      });
      return;
    }
    this.#schedule({ ...sent, id, key, polls: 0, last: "unknown" }, this.#backoff[0] ?? 2_000);
  }

  /** Stops following every delivery (shutdown, tests). */
  stop(): void {
    for (const { timer } of this.#followed.values()) clearTimeout(timer);
    this.#followed.clear();
  }

  #schedule(item: Followed, delayMs: number): void {
    const wait = Math.max(0, Math.min(delayMs, item.expiresAtMs - Date.now()));
    const timer = setTimeout(() => void this.#poll(item), wait);
    timer.unref?.();
    this.#followed.set(item.key, { item, timer });
  }

  async #poll(item: Followed): Promise<void> {
    const { provider, store, policy, logger } = this.deps;
    const expired = () => Date.now() >= item.expiresAtMs;
    const placed = await store.takeDeliveryPoll(policy.pace).catch(() => false);
    if (!placed) {
      if (expired()) return this.#finish(item, "unknown");
      return this.#schedule(item, PACE_WAIT_MS * (0.5 + Math.random()));
    }
    item.polls += 1;
    try {
      const report = await (provider.delivery?.(item.messageId) ??
        Promise.resolve({ status: "unknown" as const }));
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
    if (expired()) return this.#finish(item, "unknown");
    const backoff = this.#backoff;
    this.#schedule(item, backoff[Math.min(item.polls, backoff.length - 1)] ?? 60_000);
  }

  #finish(item: Followed, status: DeliveryStatus): void {
    this.#followed.delete(item.key);
    const outcome = status === "delivered" || status === "failed" ? status : "unknown";
    this.deps.metrics.delivery(item.country, outcome, (Date.now() - item.sentAtMs) / 1000);
  }
}
