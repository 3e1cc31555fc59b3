import { OutgoingFrame } from '../core/frame-writer.js';
import type { Connection, ReceiverMessage } from '../core/connection.js';
import type { CopyHolders } from './copy-ledger.js';
import {
  ALL_STREAM,
  clientStream,
  positionedFrame,
  roomOfStream,
  skipFrame,
  userStream,
  type Positions,
} from '../protocol/streams.js';

/**
 * One message as recovering clients get it: the plain frame with `"pos"` appended, built once
 * for all the recipients in the same streams. A recipient sees only the positions of streams it
 * is in: a broadcast to `public` and `dm:alice:carol` shows a member of `public` only
 * `room:public` (positions would otherwise reveal rooms). A message in one stream (nearly all)
 * has one frame for everyone; a multi-room one a frame per combination of rooms, made on demand.
 *
 * A recipient that must not get the message still gets its positions, as a `skip` frame, so that
 * its offsets stay contiguous: a client named in `except`, or (a message appended as several
 * copies, one per stream) one that got another copy already (`copies`: the ids of the clients
 * the message reached, shared by its copies).
 */
export class PositionedMessage implements ReceiverMessage {
  readonly receiverMessage = true;
  private readonly streams: string[];
  private shared: OutgoingFrame | undefined;
  private bySubset: Map<string, OutgoingFrame> | undefined;
  private skips: Map<string, OutgoingFrame> | undefined;

  constructor(
    /** The plain frame. */
    readonly plain: string,
    /** Every position of the message (of this copy). */
    readonly positions: Positions,
    /** The positioned frame with every position, when the publisher built it already. */
    full?: string,
    /** Client ids the message excludes. */
    private readonly except?: readonly string[],
    /** A copy: the ids of the clients that got the message through any of its copies. */
    private readonly copies?: CopyHolders,
  ) {
    this.streams = Object.keys(positions);
    if (this.streams.length === 1 || full !== undefined) {
      this.shared = new OutgoingFrame(full ?? positionedFrame(plain, positions), positions);
    }
  }

  /**
   * The frame for `client`: only the positions of its streams (a `skip` frame when the
   * message is not for it); undefined when it is in none of them.
   */
  frameFor(client: Connection): OutgoingFrame | undefined {
    const streams = this.streams;
    let key = '';
    let all = true;
    let any = false;
    for (let i = 0; i < streams.length; i++) {
      const mine = isIn(client, streams[i]);
      if (mine) any = true;
      else all = false;
      key += mine ? '1' : '0';
    }
    if (!any) return undefined;
    if (this.except?.includes(client.id) || this.copies?.has(client.id)) {
      const cache = (this.skips ??= new Map());
      let frame = cache.get(key);
      if (frame === undefined) {
        const subset = this.subset(key);
        frame = new OutgoingFrame(skipFrame(subset), subset);
        cache.set(key, frame);
      }
      return frame;
    }
    this.copies?.set(client.id, this.positions);
    if (all && this.shared) return this.shared;
    const cache = (this.bySubset ??= new Map());
    let frame = cache.get(key);
    if (frame === undefined) {
      const subset = this.subset(key);
      frame = new OutgoingFrame(positionedFrame(this.plain, subset), subset);
      cache.set(key, frame);
    }
    return frame;
  }

  private subset(key: string): Positions {
    const subset: Positions = {};
    for (let i = 0; i < this.streams.length; i++) {
      if (key[i] === '1') subset[this.streams[i]] = this.positions[this.streams[i]];
    }
    return subset;
  }
}

/** Whether a client is in a stream (recovery's streams: all, its own, its user's, its rooms'). */
export function isIn(client: Connection, stream: string): boolean {
  const room = roomOfStream(stream);
  if (room !== undefined) return client.rooms?.has(room) === true;
  return (
    stream === ALL_STREAM ||
    stream === userStream(client.userId ?? '\0') ||
    stream === clientStream(client.id)
  );
}
