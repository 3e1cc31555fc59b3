import type { ClientReceiver, Connection, ReceiverMessage } from '../core/connection.js';
import type { StreamTop } from '../interfaces/recovery.interface.js';
import { ClientEvent } from '../protocol/constants.js';
import { continuity, type Positions, type StreamPosition } from '../protocol/streams.js';
import type { PositionedMessage } from './positioned-message.js';

/** Messages held at most for one client while its session is resumed; past it, 1013. */
const MAX_HELD_MESSAGES = 10_000;
/** Frames a client may send behind its `recover` before the welcome; past it, 1008. */
const MAX_EARLY_FRAMES = 100;

/** What a recovering client's receiver asks of the strategy that installed it. */
export interface ClientStreamsOwner {
  /** Writes a positioned frame; a client over the buffer limit is closed (1013), never skipped. */
  write(client: Connection, message: PositionedMessage): boolean;
  /** Too much held while resuming: the client is closed (1013). */
  overflow(client: Connection): void;
  /** Too many frames sent before the welcome: the client is closed (1008). */
  tooEarly(client: Connection): void;
  /** A held message does not continue what the welcome said: the client resumes (1012). */
  discontinued(client: Connection): void;
  /** Records a room in the client's session (resolves once recorded; never rejects). */
  recordRoom(client: Connection, room: string, byClient: boolean): Promise<void>;
  forgetRoom(client: Connection, room: string): void;
  /** Tells the client it is in `room` now (server-side join): `joined` with its position. */
  announceJoin(client: Connection, room: string): Promise<void>;
  /** Tells the client it is no longer in `room` (server-side leave): `left`. */
  announceLeave(client: Connection, room: string): void;
  /** The client is gone: its session, if any, becomes resumable for `sessionTtlMs`. */
  removed(client: Connection, streams: ClientStreams): void;
}

/**
 * The receiver of a client that negotiated recovery: what it gets is positioned frames, in
 * offset order per stream, each once. Until its `recover` frame is answered the messages for
 * it are held; after the replay, those the replay carried already are dropped (same epoch, at
 * or below what the replay read) and the rest follow.
 */
export class ClientStreams implements ClientReceiver {
  /** Until its `recover` frame is handled: no welcome yet, and messages are held. */
  awaiting = true;
  /** Messages that came while the session was being resumed, in order. */
  private held: PositionedMessage[] | undefined = [];
  /** Closes the connection if no `recover` frame comes in time. */
  timer: NodeJS.Timeout | undefined;
  /** Whether a resumable session was recorded for this connection. */
  hasSession = false;
  /** While the session's rooms are being restored: nothing to record. */
  restoring = false;
  /** Frames the client sent while its `recover` was being answered; handed back after. */
  private early: [raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean][] | undefined;

  constructor(private readonly owner: ClientStreamsOwner) {}

  /** The `recover` frame is being answered: frames sent behind it wait for the welcome. */
  opening(): void {
    this.early = [];
  }

  hold(client: Connection, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): boolean {
    const early = this.early;
    if (early === undefined) return false;
    if (early.length >= MAX_EARLY_FRAMES) {
      this.owner.tooEarly(client);
      return true;
    }
    early.push([raw, isBinary]);
    return true;
  }

  /** After the welcome (or a failed resume): the frames sent meanwhile are handled, in order. */
  opened(client: Connection): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const [raw, isBinary] of early) {
      if (client.removed) return;
      client.socket.emit('message', raw, isBinary);
    }
  }

  get firstFrame(): string | undefined {
    return this.awaiting ? ClientEvent.RECOVER : undefined;
  }

  deliver(client: Connection, message: ReceiverMessage): boolean {
    const positioned = message as PositionedMessage;
    const held = this.held;
    if (held !== undefined) {
      if (held.length >= MAX_HELD_MESSAGES) this.owner.overflow(client);
      else held.push(positioned);
      return false;
    }
    return this.owner.write(client, positioned);
  }

  roomJoined(client: Connection, room: string, byClient: boolean): Promise<void> | void {
    if (!this.hasSession || this.restoring) return;
    const recorded = this.owner.recordRoom(client, room, byClient);
    // The client learns of a room the server put it in, with its position there, so that it
    // can present the room when it resumes (a client does not get back a room it does not
    // present). Its own joins get that in the `joined` reply.
    if (!byClient) void recorded.then(() => this.owner.announceJoin(client, room));
    return recorded;
  }

  roomLeft(client: Connection, room: string, byServer = false): void {
    if (!this.hasSession) return;
    this.owner.forgetRoom(client, room);
    if (byServer) this.owner.announceLeave(client, room);
  }

  removed(client: Connection): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
    this.early = undefined;
    this.owner.removed(client, this);
  }

  /**
   * After the welcome and the replay: lets the held messages through, minus those the replay
   * carried, and from then on delivers directly. `tops`: where the welcome put the client in
   * each stream (the replay ends there). Each held message must continue those positions; one
   * that does not (published in an epoch the welcome replaced, or after a loss this instance
   * saw) would be a gap on the client's connection: the client resumes instead (1012).
   * Returns false when the client could not take them (it is being closed).
   */
  release(client: Connection, tops: readonly StreamTop[]): boolean {
    const held = this.held ?? [];
    this.held = undefined;
    const at = new Map(
      tops.map((t): [string, StreamPosition] => [t.stream, { offset: t.top, epoch: t.epoch }]),
    );
    for (const message of held) {
      const verdict = continuing(message.positions, at);
      if (verdict === 'old') continue;
      if (verdict === 'break') {
        this.owner.discontinued(client);
        return false;
      }
      if (!this.owner.write(client, message) && client.removed) return false;
    }
    return true;
  }
}

/**
 * Whether a message continues the client's positions `at` (advanced when it does), by the
 * continuity rule of each stream (`continuity`): `next` in some stream and broken (a gap,
 * another epoch) in none; `old` when the replay or the welcome covered it in every stream.
 */
export function continuing(
  positions: Positions,
  at: Map<string, StreamPosition>,
): 'next' | 'old' | 'break' {
  const next: [string, StreamPosition][] = [];
  for (const stream in positions) {
    const mine = at.get(stream);
    if (mine === undefined) continue;
    const verdict = continuity(mine, positions[stream]);
    if (verdict === 'duplicate') continue;
    if (verdict !== 'next') return 'break';
    const [offset, epoch] = positions[stream];
    next.push([stream, { offset, epoch }]);
  }
  for (const [stream, pos] of next) at.set(stream, pos);
  return next.length > 0 ? 'next' : 'old';
}
