import { DisconnectReason, CloseCode } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
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
  droppedTotal = 0;
  slowClosedTotal = 0;

  constructor(
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
   * The hot loop of the hub: per client only an id check (when `except` is given), the open
   * state, the slow-consumer comparison and one write of the shared frame.
   */
  broadcast(
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
    return delivered;
  }

  /** Whether a message may be written to a client now; applies the slow-consumer policy. */
  private admit(client: HubClient): boolean {
    const socket = client.socket;
    if (client.removed || !isOpen(socket)) return false;
    if (socket.bufferedAmount <= this.maxBufferedBytes) return true;
    if (this.slowConsumer === 'drop') {
      client.droppedMessages++;
      this.droppedTotal++;
      return false;
    }
    this.slowClosedTotal++;
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
