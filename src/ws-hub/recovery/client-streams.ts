import type { ClientReceiver, HubClient, ReceiverMessage } from '../core/hub-client.js';
import type { StreamTop } from '../interfaces/recovery.interface.js';
import { ClientEvent } from '../protocol/constants.js';
import type { Positions } from '../protocol/streams.js';
import type { PositionedMessage } from './positioned-message.js';

/** Messages held at most for one client while its session is resumed; past it, 1013. */
export const MAX_HELD_MESSAGES = 10_000;
/** Frames a client may send behind its `recover` before the welcome; past it, 1008. */
export const MAX_EARLY_FRAMES = 100;

/** What a recovering client's receiver asks of the strategy that installed it. */
export interface ClientStreamsOwner {
  /** Writes a positioned frame; a client over the buffer limit is closed (1013), never skipped. */
  write(client: HubClient, message: PositionedMessage): boolean;
  /** Too much held while resuming: the client is closed (1013). */
  overflow(client: HubClient): void;
  /** Too many frames sent before the welcome: the client is closed (1008). */
  tooEarly(client: HubClient): void;
  /** Records a room in the client's session (resolves once recorded; never rejects). */
  recordRoom(client: HubClient, room: string, byClient: boolean): Promise<void>;
  forgetRoom(client: HubClient, room: string): void;
  /** The client is gone: its session, if any, becomes resumable for `sessionTtlMs`. */
  removed(client: HubClient, streams: ClientStreams): void;
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

  hold(client: HubClient, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): boolean {
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
  opened(client: HubClient): void {
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

  deliver(client: HubClient, message: ReceiverMessage): boolean {
    const positioned = message as PositionedMessage;
    const held = this.held;
    if (held !== undefined) {
      if (held.length >= MAX_HELD_MESSAGES) this.owner.overflow(client);
      else held.push(positioned);
      return false;
    }
    return this.owner.write(client, positioned);
  }

  roomJoined(client: HubClient, room: string, byClient: boolean): Promise<void> | void {
    if (this.hasSession && !this.restoring) return this.owner.recordRoom(client, room, byClient);
  }

  roomLeft(client: HubClient, room: string): void {
    if (this.hasSession) this.owner.forgetRoom(client, room);
  }

  removed(client: HubClient): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
    this.early = undefined;
    this.owner.removed(client, this);
  }

  /**
   * After the welcome and the replay: lets the held messages through, minus those the replay
   * carried (`tops`: what the reads saw, per stream), and from then on delivers directly.
   * Returns false when the client could not take them (it is being closed).
   */
  release(client: HubClient, tops: readonly StreamTop[]): boolean {
    const held = this.held ?? [];
    this.held = undefined;
    const seen = new Map(tops.map((t) => [t.stream, t]));
    for (const message of held) {
      if (replayed(message.positions, seen)) continue;
      if (!this.owner.write(client, message) && client.removed) return false;
    }
    return true;
  }
}

/** Whether the replay (the reads' tops) covered this message: at or below a top, same epoch. */
function replayed(positions: Positions, tops: ReadonlyMap<string, StreamTop>): boolean {
  for (const stream in positions) {
    const top = tops.get(stream);
    const [offset, epoch] = positions[stream];
    if (top !== undefined && top.epoch === epoch && offset <= top.top) return true;
  }
  return false;
}
