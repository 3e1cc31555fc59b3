import { hubLogger } from '../util/logger.js';
import type { PresenceEntry } from './presence-view.js';

/**
 * Watches for instances of the cluster (same store, same key prefix) that name channels and
 * keys otherwise than this one (recovery on here, off there: a rolling deploy that turns it
 * on): they cannot reach each other's clients, which nothing else would show. Each one is
 * logged once, as an error naming both layouts, and its end once; while any lasts the count is
 * in the adapter's stats (the health indicator then reports `degraded`).
 */
export class LayoutWatch {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly mine: () => string,
    private readonly prefix: () => string,
  ) {}

  /** Live instances whose layout differs from this one's. */
  get conflicts(): number {
    return this.known.size;
  }

  check(conflicting: readonly PresenceEntry[]): void {
    const now = new Set<string>();
    for (const other of conflicting) {
      now.add(other.id);
      if (this.known.get(other.id) === other.layout) continue;
      this.known.set(other.id, other.layout);
      hubLogger.error(
        `instance ${other.id} on key prefix "${this.prefix()}" has another layout ` +
          `(${other.layout || 'none reported: an older ws-hub?'}) than this one (${this.mine()}): ` +
          "they use different channels or keys and do not reach each other's clients; give every " +
          'instance the same "recovery" option and mode',
      );
    }
    for (const id of this.known.keys()) {
      if (now.has(id)) continue;
      this.known.delete(id);
      hubLogger.log(`instance ${id} no longer has another layout than this one`);
    }
  }
}
