/**
 * Cross-instance subscriptions the adapter has not confirmed yet, by room or user: kept until
 * the adapter settles, so that every caller arriving meanwhile (a second join of the room, a
 * resume reading history) waits too, not only the one that made the subscription.
 */
export class PendingSubscriptions {
  private readonly pending = new Map<string, Promise<void>>();

  /** Records `subscribed` (a promise that never rejects, from `ClusterLink`) until it settles. */
  track(key: string, subscribed: Promise<void> | undefined): void {
    if (!subscribed) return;
    const pending = subscribed.then(() => {
      if (this.pending.get(key) === pending) this.pending.delete(key);
    });
    this.pending.set(key, pending);
  }

  /** Settles once `key`'s subscription is confirmed; undefined when none is pending. */
  get(key: string): Promise<void> | undefined {
    return this.pending.get(key);
  }
}
