import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import { isOpen, tcpOf, writeFrame, type OutgoingFrame } from './frame-writer.js';
import type { Connection, ReceiverMessage } from './connection.js';
import type { HubCounters } from './hub-counters.js';
import type { Rooms } from './rooms.js';

const OPEN = 1; // WebSocket.OPEN, inlined for the hot loop
/** Frames written under one cork by `texts()`. */
const CORK_CHUNK = 64;

/**
 * A message as this instance hands it to its clients: `plain` to plain clients (undefined: they
 * get nothing, e.g. they had it already), `forReceivers` to the receivers of clients that have
 * one (undefined: nothing now; they get it later, through the cluster).
 */
export interface LocalMessage {
  plain: OutgoingFrame | undefined;
  forReceivers: ReceiverMessage | undefined;
}

/**
 * Writing to this instance's clients: the slow-consumer policy and the fan-out loop. Frames
 * arrive serialised (and, for broadcasts, framed) once; nothing here encodes per client.
 * Clients with a receiver (`Connection.receiver`) are handed the message instead.
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
  private readonly corked: Connection[] = [];
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
  private cork(client: Connection): void {
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
  text(client: Connection, text: string): boolean {
    if (!this.admit(client)) return false;
    client.socket.send(text);
    this.counters.delivered++;
    return true;
  }

  /**
   * Writes frames to one client back to back (a replay) in as few writes as the socket allows;
   * stops at the first one not admitted. Returns how many went out.
   */
  texts(client: Connection, texts: readonly string[], strict = false): number {
    const tcp = tcpOf(client.socket);
    let n = 0;
    // In chunks: corked bytes count in bufferedAmount, which the slow-consumer check reads.
    while (n < texts.length) {
      tcp?.cork();
      try {
        const end = Math.min(texts.length, n + CORK_CHUNK);
        for (; n < end; n++) {
          if (!(strict ? this.strictText(client, texts[n]) : this.text(client, texts[n]))) return n;
        }
      } finally {
        tcp?.uncork();
      }
    }
    return n;
  }

  /**
   * Writes frames of a bounded whole (a replay, at most `maxReplayBytes`) whatever the client's
   * buffer holds, then waits (up to `timeoutMs`) until it has read them down to
   * `maxBufferedBytes`: a replay larger than the buffer limit is not a slow consumer, and what
   * comes after it waits meanwhile. False when the client went away or did not read in time
   * (it is then closed with 1013).
   */
  async replay(client: Connection, texts: readonly string[], timeoutMs: number): Promise<boolean> {
    const socket = client.socket;
    const tcp = tcpOf(socket);
    tcp?.cork();
    try {
      for (const text of texts) {
        if (client.removed || !isOpen(socket)) return false;
        socket.send(text);
      }
    } finally {
      tcp?.uncork();
    }
    this.counters.delivered += texts.length;
    const deadline = performance.now() + timeoutMs;
    while (socket.bufferedAmount > this.maxBufferedBytes) {
      if (client.removed || !isOpen(socket) || !tcp) return false;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.closeSlow(client);
        return false;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          tcp.off('drain', done);
          tcp.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1_000));
        tcp.once('drain', done);
        tcp.once('close', done);
      });
    }
    return !client.removed;
  }

  /**
   * Writes one frame to a client that must get every frame of a sequence (a recovering
   * client's positioned frames): past `maxBufferedBytes` it is closed with 1013 whatever
   * `slowConsumer` says, since skipping one would break its stream. False when not written.
   */
  strictText(client: Connection, text: string): boolean {
    if (!this.admitAll(client)) return false;
    client.socket.send(text);
    this.counters.delivered++;
    return true;
  }

  /** `strictText` for a pre-framed frame (the shared positioned frame of a broadcast). */
  strictFrame(client: Connection, frame: OutgoingFrame): boolean {
    if (!this.admitAll(client)) return false;
    if (this.coalesce) this.cork(client);
    writeFrame(client.socket, client.frameSender, frame);
    this.counters.delivered++;
    return true;
  }

  /** A message to one client: its plain frame, or its receiver's share. */
  message(client: Connection, message: LocalMessage): boolean {
    const receiver = client.receiver;
    if (receiver !== undefined) {
      return message.forReceivers !== undefined && receiver.deliver(client, message.forReceivers);
    }
    if (message.plain === undefined || !this.admit(client)) return false;
    client.socket.send(message.plain.text);
    this.counters.delivered++;
    return true;
  }

  /** `message` to every connection of a user here; returns how many it is for. */
  toUser(userId: string, message: LocalMessage): number {
    const set = this.registry.ofUser(userId);
    if (!set) return 0;
    let n = 0;
    for (const client of set) {
      if (client.receiver !== undefined) {
        n++;
        if (message.forReceivers !== undefined)
          client.receiver.deliver(client, message.forReceivers);
      } else if (this.message(client, message)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Writes a message to every client here, or to the union of `rooms` (each client once),
   * minus `except`. Returns how many clients it is for: those written to, and those with a
   * receiver (handed the message now, or getting it later through the cluster). Receivers of
   * clients in `except` are handed it too (not counted): they decide what their client gets. Timed only
   * while the metrics ask for it.
   */
  broadcast(
    message: LocalMessage,
    rooms: readonly string[] | undefined,
    except: readonly string[] | undefined,
  ): number {
    const timed = this.onBroadcastTimed;
    if (timed === undefined) return this.fanOut(message, rooms, except);
    const startMs = performance.now();
    const n = this.fanOut(message, rooms, except);
    timed(performance.now() - startMs);
    return n;
  }

  /**
   * The hot loop of the hub: per client only an id check (when `except` is given), the kind
   * of client, the open state, the slow-consumer comparison and one write of a shared frame.
   */
  private fanOut(
    message: LocalMessage,
    rooms: readonly string[] | undefined,
    except: readonly string[] | undefined,
  ): number {
    const skip = except && except.length ? new Set(except) : undefined;
    const plain = message.plain;
    const forReceivers = message.forReceivers;
    let written = 0;
    let handed = 0;
    if (!rooms) {
      const maxBuffered = this.maxBufferedBytes;
      const list = this.registry.list;
      for (let i = list.length - 1; i >= 0; i--) {
        const client = list[i];
        const receiver = client.receiver;
        if (skip !== undefined && skip.has(client.id)) {
          // A receiver sees what excludes its client too (recovery: offsets stay contiguous).
          if (receiver !== undefined && forReceivers !== undefined) {
            receiver.deliver(client, forReceivers);
          }
          continue;
        }
        if (receiver !== undefined) {
          handed++;
          if (forReceivers !== undefined) receiver.deliver(client, forReceivers);
          continue;
        }
        if (plain === undefined) continue;
        const socket = client.socket;
        if (socket.readyState !== OPEN) continue;
        if (socket.bufferedAmount > maxBuffered && !this.admit(client)) continue;
        if (this.coalesce) this.cork(client);
        writeFrame(socket, client.frameSender, plain);
        written++;
      }
      this.counters.delivered += written;
      return written + handed;
    }
    for (let i = 0; i < rooms.length; i++) {
      const members = this.rooms.members(rooms[i]);
      if (!members) continue;
      for (const client of members) {
        if (inEarlierRoom(client, rooms, i)) continue;
        const receiver = client.receiver;
        if (skip?.has(client.id)) {
          if (receiver !== undefined && forReceivers !== undefined) {
            receiver.deliver(client, forReceivers);
          }
          continue;
        }
        if (receiver !== undefined) {
          handed++;
          if (forReceivers !== undefined) receiver.deliver(client, forReceivers);
          continue;
        }
        if (plain === undefined || !this.admit(client)) continue;
        if (this.coalesce) this.cork(client);
        writeFrame(client.socket, client.frameSender, plain);
        written++;
      }
    }
    this.counters.delivered += written;
    return written + handed;
  }

  /** Whether a message may be written to a client now; applies the slow-consumer policy. */
  private admit(client: Connection): boolean {
    const socket = client.socket;
    if (client.removed || !isOpen(socket)) return false;
    if (socket.bufferedAmount <= this.maxBufferedBytes) return true;
    if (this.slowConsumer === 'drop') {
      client.droppedMessages++;
      this.counters.dropped++;
      return false;
    }
    this.closeSlow(client);
    return false;
  }

  /** `admit` for a client that must get every frame: over the limit it is closed, never skipped. */
  private admitAll(client: Connection): boolean {
    const socket = client.socket;
    if (client.removed || !isOpen(socket)) return false;
    if (socket.bufferedAmount <= this.maxBufferedBytes) return true;
    this.closeSlow(client);
    return false;
  }

  private closeSlow(client: Connection): void {
    this.counters.slowClosed++;
    this.closer.close(
      client,
      CloseCode.TRY_AGAIN_LATER,
      'slow consumer',
      DisconnectReason.SLOW_CONSUMER,
    );
  }
}

/** For a union of rooms: a client in an earlier room of the list was already served. */
function inEarlierRoom(client: Connection, rooms: readonly string[], index: number): boolean {
  for (let j = 0; j < index; j++) if (client.rooms!.has(rooms[j])) return true;
  return false;
}
