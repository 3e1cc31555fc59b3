import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import type { Position } from '../protocol/streams.js';
import type { HubDirectHandler } from './route-table.js';
import type { OutgoingFrame } from './frame-writer.js';
import type { ConnectionInfo, Connection } from './connection.js';

/** The messages of the cluster adapter that carry a frame. */
export type FrameMessage = Extract<HubAdapterMessage, { frame: string }>;

/**
 * How messages reach clients, chosen once when the hub is built: plain (every client gets the
 * frame as published), or with message recovery (positions, history, resumable sessions), kept
 * on this instance or recorded through the cluster adapter. `HubService` and the adapter host
 * go through it and never ask which one it is.
 */
export interface DeliveryStrategy {
  /** A broadcast to everyone or to rooms; returns how many clients of this instance it is for. */
  broadcast(
    frame: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number;
  /** A message to one client; true when it is here, or may be (or resume) elsewhere. */
  send(clientId: string, frame: OutgoingFrame): boolean;
  /** A message to every connection of a user; returns how many are here. */
  toUser(userId: string, frame: OutgoingFrame): number;
  /** A message published by another instance (or, recorded, this one's own coming back). */
  applyRemote(message: FrameMessage): void;
  /**
   * A client just registered: true when it is to be welcomed now; false when the strategy
   * takes over its welcome (a recovering client: after its `recover` frame).
   */
  admit(client: Connection, info: ConnectionInfo): boolean;
  /** Where a client starts in a room it just joined (recovering clients), else undefined. */
  joinedPosition(client: Connection, room: string): Promise<Position | undefined> | undefined;
  /** Client events the strategy answers itself (`recover`), checked before any other. */
  readonly routes: ReadonlyMap<string, HubDirectHandler>;
  /** Whether a client id of this instance may be connected elsewhere (resumed sessions). */
  readonly idsMove: boolean;
  /**
   * The cluster adapter's subscription came back after a break: what was published meanwhile
   * may not have reached this instance.
   */
  resubscribed?(): void;
  /** Starts what runs while the hub serves (timers). */
  start(): void;
  /** Stops it all (shutdown). */
  close(): Promise<void>;
}
