import type {
  HubAdapter,
  HubAdapterHost,
  HubAdapterMessage,
  HubAdapterStats,
  HubInstanceInfo,
} from '../interfaces/cluster-adapter.interface.js';
import { clientStream, roomStream, userStream } from '../protocol/streams.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { instanceOfClientId } from '../protocol/client-id.js';
import { PendingSubscriptions } from './pending-subscriptions.js';

/**
 * The hub's side of the cluster adapter. Adapters must not throw into callers nor reject the
 * promises the hub waits for; this keeps a faulty one from ever breaking local delivery.
 */
export class ClusterLink {
  /** Rooms, users and clients whose subscription the adapter has not confirmed yet. */
  private readonly pending = new PendingSubscriptions();

  constructor(
    private readonly adapter: HubAdapter,
    private readonly instanceId: string,
    /**
     * Whether client ids move between instances: with recovery on a cluster, a resumed session
     * keeps its first instance's id prefix wherever it reconnected.
     */
    private readonly idsMove = false,
    /** Told when this instance stops hearing a stream (it left its channel). */
    private readonly observer?: { unsubscribed(stream: string): void },
  ) {}

  /** Whether other instances exist behind the adapter. */
  get distributed(): boolean {
    return this.adapter.distributed === true;
  }

  init(host: HubAdapterHost): Promise<void> | void {
    return this.adapter.init(host);
  }

  async close(): Promise<void> {
    try {
      await this.adapter.close();
    } catch (err) {
      hubLogger.warn(`adapter close failed: ${errorText(err)}`);
    }
  }

  publish(message: HubAdapterMessage): void {
    try {
      this.adapter.publish(message);
    } catch (err) {
      this.failed(err);
    }
  }

  /**
   * This instance gained its first member of `room`: subscribes. `ready(roomStream(room))`
   * settles once the room's messages from other instances reach this one.
   */
  roomAdded(room: string): void {
    this.pending.track(
      roomStream(room),
      this.settle(() => this.adapter.roomAdded(room)),
    );
  }

  roomRemoved(room: string): void {
    this.observer?.unsubscribed(roomStream(room));
    this.call(() => this.adapter.roomRemoved(room));
  }

  /** This instance gained its first connection of `userId` (see `roomAdded`). */
  userAdded(userId: string): void {
    this.pending.track(
      userStream(userId),
      this.settle(() => this.adapter.userAdded(userId)),
    );
  }

  userRemoved(userId: string): void {
    this.observer?.unsubscribed(userStream(userId));
    this.call(() => this.adapter.userRemoved(userId));
  }

  /** With recovery: `send`/`disconnect` for this client id now reach this instance (see `roomAdded`). */
  clientAdded(clientId: string): void {
    const adapter = this.adapter;
    if (!adapter.clientAdded) return;
    this.pending.track(
      clientStream(clientId),
      this.settle(() => adapter.clientAdded!(clientId)),
    );
  }

  /**
   * Settles once the subscription of a stream (`room:<r>`, `user:<u>`, `client:<id>`) that this
   * instance asked for is confirmed; undefined when none is pending. Never rejects.
   */
  ready(stream: string): Promise<void> | undefined {
    return this.pending.get(stream);
  }

  /** Settles once every subscription change sent so far is confirmed (`HubAdapter.settled`). */
  settled(): Promise<void> | undefined {
    const adapter = this.adapter;
    return adapter.settled ? this.settle(() => adapter.settled!()) : undefined;
  }

  clientRemoved(clientId: string): void {
    const adapter = this.adapter;
    if (!adapter.clientRemoved) return;
    this.observer?.unsubscribed(clientStream(clientId));
    this.call(() => adapter.clientRemoved!(clientId));
  }

  clusterOnline(): Promise<number> {
    return this.adapter.clusterOnline();
  }

  instances(): Promise<HubInstanceInfo[]> {
    return this.adapter.instances();
  }

  /** The adapter's counters (`HubAdapter.stats`), for the metrics and the health indicator. */
  stats(): HubAdapterStats | undefined {
    return this.adapter.stats?.();
  }

  /**
   * Whether a client id that is not connected here may be connected on another instance: one
   * of another instance's prefix, or any hub client id once ids move. Only a cluster adapter
   * can have such clients.
   */
  isRemoteClientId(clientId: string): boolean {
    if (this.adapter.distributed !== true) return false;
    const instance = instanceOfClientId(clientId);
    return instance !== undefined && (this.idsMove || instance !== this.instanceId);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(err);
    }
  }

  private settle(fn: () => void | Promise<void>): Promise<void> | undefined {
    try {
      const result = fn();
      if (result && typeof result.then === 'function') {
        return result.then(undefined, (err: unknown) => this.failed(err));
      }
    } catch (err) {
      this.failed(err);
    }
    return undefined;
  }

  private failed(err: unknown): void {
    hubLogger.warn(`adapter call failed: ${errorText(err)}`);
  }
}
