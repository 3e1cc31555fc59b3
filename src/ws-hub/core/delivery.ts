import { DisconnectReason, CloseCode } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { HubCounters } from './hub-counters.js';
import type { Closer } from './closer.js';
import { isOpen, tcpOf, writeFrame, type OutgoingFrame } from './frame-writer.js';
import type { ClientRecovery, HubClient } from './hub-client.js';
import type { Positions } from '../protocol/streams.js';
import type { Rooms } from './rooms.js';

const OPEN = 1; // WebSocket.OPEN, inlined for the hot loop
/** Frames written under one cork by `texts()`. */
const CORK_CHUNK = 64;
/** Frames held at most for one client while its session is resumed; past it, 1013. */
export const MAX_HELD_FRAMES = 10_000;

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
    /** `coalesceWrites`: cork sockets written to until the current operation ends. */
    private readonly coalesce = false,
  ) {}

  /** Incremented when the current operation ends: writes in the same operation share it. */
  private operation = 1;
  private operationEnding = false;
  private readonly corked: HubClient[] = [];
  private readonly endOperation = (): void => {
    this.operation++;
    this.operationEnding = false;
    const corked = this.corked;
    for (let i = 0; i < corked.length; i++) {
      tcpOf(corked[i].socket)?.uncork();
    }
    corked.length = 0;
  };

  /**
   * Write coalescing: a client's first frame in an operation is written at once (a single
   * broadcast pays nothing but this check); a second one in the same operation corks its
   * socket until the operation ends (a process.nextTick), so a burst leaves in two writes
   * instead of one each.
   */
  private cork(client: HubClient): void {
    const op = this.operation;
    if (client.lastWriteOp !== op) {
      client.lastWriteOp = op;
      if (!this.operationEnding) {
        this.operationEnding = true;
        process.nextTick(this.endOperation);
      }
      return;
    }
    if (client.lastWriteOp === -op) return; // corked already in this operation
    client.lastWriteOp = -op;
    const tcp = tcpOf(client.socket);
    if (tcp === undefined) return;
    tcp.cork();
    this.corked.push(client);
  }

  /** Writes one frame to one client; false when it was not admitted. */
  text(client: HubClient, text: string): boolean {
    if (!this.admit(client)) return false;
    client.socket.send(text);
    this.counters.delivered++;
    return true;
  }

  /**
   * Writes frames to one client back to back (a replay) in as few writes as the socket allows;
   * stops at the first one not admitted. Returns how many went out.
   */
  texts(client: HubClient, texts: string[]): number {
    const tcp = tcpOf(client.socket);
    let n = 0;
    // In chunks: corked bytes count in bufferedAmount, which the slow-consumer check reads.
    while (n < texts.length) {
      tcp?.cork();
      try {
        const end = Math.min(texts.length, n + CORK_CHUNK);
        for (; n < end; n++) if (!this.text(client, texts[n])) return n;
      } finally {
        tcp?.uncork();
      }
    }
    return n;
  }

  /**
   * Writes one message to one client: `plain` to a plain client, `positioned` to a recovering
   * one (held while its session is resumed). Either may be undefined: that kind then gets nothing.
   */
  message(
    client: HubClient,
    plain: OutgoingFrame | undefined,
    positioned: OutgoingFrame | undefined,
  ): boolean {
    const out = client.recovery === undefined ? plain : positioned;
    if (out === undefined || !this.admit(client)) return false;
    if (out !== plain && !this.acceptPositioned(client, out)) return false;
    client.socket.send(out.text);
    this.counters.delivered++;
    return true;
  }

  /** `message` to every connection of a user here; returns how many got it. */
  toUser(userId: string, plain: OutgoingFrame | undefined, positioned?: OutgoingFrame): number {
    const set = this.registry.ofUser(userId);
    if (!set) return 0;
    let n = 0;
    for (const client of set) if (this.message(client, plain, positioned)) n++;
    return n;
  }

  /**
   * Writes a message to every client here, or to the union of `rooms` (each client once), minus
   * `except`: the shared `plain` frame to plain clients, `positioned` to recovering ones (see
   * `message`). Returns how many got it. Timed only while the metrics ask for it.
   */
  broadcast(
    plain: OutgoingFrame | undefined,
    rooms: string[] | undefined,
    except: string[] | undefined,
    positioned?: OutgoingFrame,
  ): number {
    const timed = this.onBroadcastTimed;
    if (timed === undefined) return this.fanOut(plain, positioned, rooms, except);
    const startMs = performance.now();
    const delivered = this.fanOut(plain, positioned, rooms, except);
    timed(performance.now() - startMs);
    return delivered;
  }

  /**
   * The hot loop of the hub: per client only an id check (when `except` is given), the kind
   * of client, the open state, the slow-consumer comparison and one write of a shared frame.
   */
  private fanOut(
    plain: OutgoingFrame | undefined,
    positioned: OutgoingFrame | undefined,
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
        const out = client.recovery === undefined ? plain : positioned;
        if (out === undefined) continue;
        const socket = client.socket;
        if (socket.readyState !== OPEN) continue;
        if (socket.bufferedAmount > maxBuffered && !this.admit(client)) continue;
        if (out !== plain && !this.acceptPositioned(client, out)) continue;
        if (this.coalesce) this.cork(client);
        writeFrame(socket, client.frameSender, out);
        delivered++;
      }
      this.counters.delivered += delivered;
      return delivered;
    }
    for (let i = 0; i < rooms.length; i++) {
      const members = this.rooms.members(rooms[i]);
      if (!members) continue;
      for (const client of members) {
        if (skip?.has(client.id) || inEarlierRoom(client, rooms, i)) continue;
        const out = client.recovery === undefined ? plain : positioned;
        if (out === undefined || !this.admit(client)) continue;
        if (out !== plain && !this.acceptPositioned(client, out)) continue;
        if (this.coalesce) this.cork(client);
        writeFrame(client.socket, client.frameSender, out);
        delivered++;
      }
    }
    this.counters.delivered += delivered;
    return delivered;
  }

  /**
   * Whether a positioned frame goes out to a recovering client now: not while its session is
   * being resumed (held, to follow the replay), nor when the replay already carried it.
   */
  private acceptPositioned(client: HubClient, frame: OutgoingFrame): boolean {
    const rec = client.recovery!;
    if (rec.held !== undefined) {
      if (rec.held.length >= MAX_HELD_FRAMES) {
        this.counters.slowClosed++;
        this.closer.close(
          client,
          CloseCode.TRY_AGAIN_LATER,
          'too much to hold while resuming',
          DisconnectReason.SLOW_CONSUMER,
        );
      } else {
        rec.held.push({ frame, positions: frame.positions ?? {} });
      }
      return false;
    }
    return (
      rec.seam === undefined || frame.positions === undefined || !seenInReplay(rec, frame.positions)
    );
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

/**
 * Whether a replay already delivered this message to the client (any of its positions at or
 * below what was delivered in that stream). A stream whose offsets went past the seam leaves
 * it: offsets only grow from there.
 */
export function seenInReplay(rec: ClientRecovery, positions: Positions): boolean {
  const seam = rec.seam!;
  let seen = false;
  for (const stream in positions) {
    const last = seam.get(stream);
    if (last === undefined) continue;
    if (positions[stream][0] <= last) seen = true;
    else seam.delete(stream);
  }
  if (seam.size === 0) rec.seam = undefined;
  return seen;
}

/** For a union of rooms: a client in an earlier room of the list was already served. */
function inEarlierRoom(client: HubClient, rooms: string[], index: number): boolean {
  for (let j = 0; j < index; j++) if (client.rooms!.has(rooms[j])) return true;
  return false;
}
