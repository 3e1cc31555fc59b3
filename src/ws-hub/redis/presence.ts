import type { HubAdapterHost, HubInstanceInfo } from '../interfaces/cluster-adapter.interface.js';
import { goneInstances, withLocalCount, type PresenceEntry } from '../cluster/presence-view.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { TIMEOUT, withTimeout } from '../cluster/command-timeout.js';
import { LEAVE, PRESENCE_REFRESH, QUERY } from './scripts.js';

/** The presence keys of a prefix: the instances sorted set, the online-count and layout hashes. */
export type PresenceKeys = readonly [instances: string, online: string, layout: string];

export function presenceKeys(prefix: string, tagged = false): PresenceKeys {
  // On a Redis Cluster (`tagged`) the keys share the hash tag `{<prefix>}`: the scripts touch one slot.
  if (tagged) return [`{${prefix}}:instances`, `{${prefix}}:online`, `{${prefix}}:layout`];
  return [`${prefix}:instances`, `${prefix}:online`, `${prefix}:layout`];
}

/** Parses the flat `id, lastSeenMs, online, layout, ...` reply of the presence scripts. */
export function parseView(reply: unknown): PresenceEntry[] {
  const out: PresenceEntry[] = [];
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 3 < reply.length; i += 4) {
    out.push({
      id: String(reply[i]),
      lastSeenAt: Number(reply[i + 1]),
      online: Number(reply[i + 2]) || 0,
      layout: String(reply[i + 3] ?? ''),
    });
  }
  return out;
}

/** The side of the publisher connection presence uses. */
export interface PresenceConnection {
  readonly status: string;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export interface PresenceDeps {
  pub: PresenceConnection;
  host: HubAdapterHost;
  keys: PresenceKeys;
  instanceTimeoutMs: number;
  /** Longest wait for any presence command. */
  commandTimeoutMs: number;
  /** A presence command failed or timed out. */
  onFailure(what: string, err: unknown): void;
  /** How this instance names channels and keys (see `layoutConflicts`). */
  layout: string;
  /** A presence refresh succeeded; `view` is every live instance, this one included. */
  onRefreshed(live: ReadonlySet<string>, view: readonly PresenceEntry[]): void;
}

/**
 * This instance's presence in Redis (the scripts in `scripts.ts`): the presence refresh, the live
 * view for reads, leaving on close, and `host.instanceGone` for instances that drop out.
 */
export class Presence {
  private known = new Set<string>();
  private running = false;
  private closed = false;
  private inFlight: Promise<PresenceEntry[] | undefined> | undefined;

  constructor(private readonly deps: PresenceDeps) {}

  /** Refreshes this instance, prunes the dead, and reports the instances that left. */
  async refresh(): Promise<void> {
    const { pub, host, keys, instanceTimeoutMs } = this.deps;
    if (this.closed || this.running || pub.status !== 'ready') return;
    this.running = true;
    try {
      const reply = await this.bounded(
        pub.eval(
          PRESENCE_REFRESH,
          3,
          ...keys,
          String(instanceTimeoutMs),
          host.instanceId,
          String(host.localOnline),
          // Keys of a hub whose instances all died expire on their own.
          String(Math.max(10 * instanceTimeoutMs, 60_000)),
          this.deps.layout,
        ),
      );
      if (reply === TIMEOUT || this.closed) return;
      this.update(parseView(reply));
    } catch (err) {
      this.deps.onFailure('presence', err);
    } finally {
      this.running = false;
    }
  }

  /** Live instances, this one with its live count; this one alone when Redis cannot answer. */
  async instances(): Promise<HubInstanceInfo[]> {
    const view = await this.readView();
    const host = this.deps.host;
    const plain = view?.map(({ id, online, lastSeenAt }) => ({ id, online, lastSeenAt }));
    return withLocalCount(plain, host.instanceId, host.localOnline, Date.now());
  }

  /** Removes this instance from presence at once, rather than after `instanceTimeoutMs`. */
  async leave(): Promise<void> {
    this.closed = true;
    const { pub, keys, host } = this.deps;
    if (pub.status !== 'ready') return;
    const left = pub.eval(LEAVE, 3, ...keys, host.instanceId);
    await withTimeout(left, this.deps.commandTimeoutMs).catch(() => undefined);
  }

  private update(view: PresenceEntry[]): void {
    const live = new Set(view.map((i) => i.id));
    const host = this.deps.host;
    for (const id of goneInstances(this.known, live, host.instanceId)) {
      try {
        host.instanceGone?.(id);
      } catch (err) {
        hubLogger.warn(`instanceGone(${id}) failed: ${errorText(err)}`);
      }
    }
    this.known = live;
    this.deps.onRefreshed(live, view);
  }

  /**
   * The live instances as Redis sees them, or `undefined` when it cannot answer in time.
   * Concurrent callers (say a busy `/stats` endpoint) share one query.
   */
  private readView(): Promise<PresenceEntry[] | undefined> {
    if (this.closed || this.deps.pub.status !== 'ready') return Promise.resolve(undefined);
    this.inFlight ??= this.queryView().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async queryView(): Promise<PresenceEntry[] | undefined> {
    const { pub, keys, instanceTimeoutMs } = this.deps;
    try {
      const reply = await this.bounded(pub.eval(QUERY, 3, ...keys, String(instanceTimeoutMs)));
      return reply === TIMEOUT ? undefined : parseView(reply);
    } catch (err) {
      this.deps.onFailure('presence', err);
      return undefined;
    }
  }

  /** `withTimeout` on `commandTimeoutMs`, reporting a timeout as a presence failure. */
  private async bounded(command: Promise<unknown>): Promise<unknown> {
    const reply = await withTimeout(command, this.deps.commandTimeoutMs);
    if (reply === TIMEOUT) {
      this.deps.onFailure('presence', `no answer within ${this.deps.commandTimeoutMs} ms`);
    }
    return reply;
  }
}
