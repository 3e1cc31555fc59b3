import { DisconnectReason, CloseCode } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { HubCounters } from './hub-counters.js';
import type { Closer } from './closer.js';
import { isOpen, writeFrame, type OutgoingFrame } from './frame-writer.js';
import type { HubClient } from './hub-client.js';
import type { Rooms } from './rooms.js';

const OPEN = 1; // WebSocket.OPEN, inlined for the hot loop

/**
 * Writing to this instance's clients: the slow-consumer policy and the broadcast loop. Frames
 * arrive serialised (and, for broadcasts, framed) once; nothing here encodes per client.
 */
export class Delivery {
  /** Set by the metrics: told how long each broadcast's fan-out took, in milliseconds. */
  onBroadcastTimed: ((ms: number) => void) | undefined;

  constructor(
    private readonly counters: HubCounters,
    private readonly registry: ClientRegistry,
    private readonly rooms: Rooms,
    private readonly closer: Closer,
    private readonly maxBufferedBytes: number,
    private readonly slowConsumer: 'drop' | 'close',
  ) {}

  /** Writes one frame to one client; false when it was not admitted. */
  text(client: HubClient, text: string): boolean {
    if (!this.admit(client)) return false;
    client.socket.send(text);
    this.counters.delivered++;
    return true;
  }

  /** Writes one frame to every connection of a user here; returns how many got it. */
  toUser(userId: string, text: string): number {
    const set = this.registry.ofUser(userId);
    if (!set) return 0;
    let n = 0;
    for (const client of set) if (this.text(client, text)) n++;
    return n;
  }

  /**
   * Writes a shared frame to every client here, or to the union of `rooms` (each client once),
   * minus `except`; returns how many got it. Timed only while the metrics ask for it.
   */
  broadcast(
    frame: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number {
    const timed = this.onBroadcastTimed;
    if (timed === undefined) return this.fanOut(frame, rooms, except);
    const startMs = performance.now();
    const delivered = this.fanOut(frame, rooms, except);
    timed(performance.now() - startMs);
    return delivered;
  }

  /**
   * The hot loop of the hub: per client only an id check (when `except` is given), the open
   * state, the slow-consumer comparison and one write of the shared frame.
   */
  private fanOut(
    frame: OutgoingFrame,
    rooms: string[] | undefined,
    except: string[] | undefined,
  ): number {
    const skip = except && except.length ? new Set(except) : undefined;
    let delivered = 0;
    if (!rooms) {
      const maxBuffered = this.maxBufferedBytes;
      const list = this.registry.list;
      for (let i = list.length - 1; i >= 0; i--) {
        const client = list[i];
        if (skip !== undefined && skip.has(client.id)) continue;
        const socket = client.socket;
        if (socket.readyState !== OPEN) continue;
        if (socket.bufferedAmount > maxBuffered && !this.admit(client)) continue;
        writeFrame(socket, client.frameSender, frame);
        delivered++;
      }
      this.counters.delivered += delivered;
      return delivered;
    }
    for (let i = 0; i < rooms.length; i++) {
      const members = this.rooms.members(rooms[i]);
      if (!members) continue;
      for (const client of members) {
        if (skip?.has(client.id) || inEarlierRoom(client, rooms, i) || !this.admit(client)) {
          continue;
        }
        writeFrame(client.socket, client.frameSender, frame);
        delivered++;
      }
    }
    this.counters.delivered += delivered;
    return delivered;
  }

  /** Whether a message may be written to a client now; applies the slow-consumer policy. */
  private admit(client: HubClient): boolean {
    const socket = client.socket;
    if (client.removed || !isOpen(socket)) return false;
    if (socket.bufferedAmount <= this.maxBufferedBytes) return true;
    if (this.slowConsumer === 'drop') {
      client.droppedMessages++;
      this.counters.dropped++;
      return false;
    }
    this.counters.slowClosed++;
    this.closer.close(
      client,
      CloseCode.TRY_AGAIN_LATER,
      'slow consumer',
      DisconnectReason.SLOW_CONSUMER,
    );
    return false;
  }
}

/** For a union of rooms: a client in an earlier room of the list was already served. */
function inEarlierRoom(client: HubClient, rooms: string[], index: number): boolean {
  for (let j = 0; j < index; j++) if (client.rooms!.has(rooms[j])) return true;
  return false;
}
