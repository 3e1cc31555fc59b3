import { OutgoingFrame } from '../core/frame-writer.js';
import type { HubClient, ReceiverMessage } from '../core/hub-client.js';
import {
  ALL_STREAM,
  clientStream,
  positionedFrame,
  roomOfStream,
  userStream,
  type Positions,
} from '../protocol/streams.js';

/**
 * One message as recovering clients get it: the plain frame with `"pos"` appended, built once
 * for all the recipients in the same streams. A recipient sees only the positions of streams it
 * is in: a broadcast to `public` and `dm:alice:carol` shows a member of `public` only
 * `room:public` (positions would otherwise reveal rooms). A message in one stream (nearly all)
 * has one frame for everyone; a multi-room one a frame per combination of rooms, made on demand.
 */
export class PositionedMessage implements ReceiverMessage {
  readonly receiverMessage = true;
  private readonly streams: string[];
  private shared: OutgoingFrame | undefined;
  private bySubset: Map<string, OutgoingFrame> | undefined;

  constructor(
    /** The plain frame. */
    readonly plain: string,
    /** Every position of the message. */
    readonly positions: Positions,
    /** The positioned frame with every position, when the publisher built it already. */
    full?: string,
  ) {
    this.streams = Object.keys(positions);
    if (this.streams.length === 1 || full !== undefined) {
      this.shared = new OutgoingFrame(full ?? positionedFrame(plain, positions), positions);
    }
  }

  /** The frame for `client`: only the positions of its streams. */
  frameFor(client: HubClient): OutgoingFrame {
    const streams = this.streams;
    if (streams.length === 1) return this.shared!;
    let key = '';
    let all = true;
    for (let i = 0; i < streams.length; i++) {
      const mine = isIn(client, streams[i]);
      if (!mine) all = false;
      key += mine ? '1' : '0';
    }
    if (all && this.shared) return this.shared;
    const cache = (this.bySubset ??= new Map());
    let frame = cache.get(key);
    if (frame === undefined) {
      const subset: Positions = {};
      for (let i = 0; i < streams.length; i++) {
        if (key[i] === '1') subset[streams[i]] = this.positions[streams[i]];
      }
      frame = new OutgoingFrame(positionedFrame(this.plain, subset), subset);
      cache.set(key, frame);
    }
    return frame;
  }
}

/** Whether a client is in a stream (recovery's streams: all, its own, its user's, its rooms'). */
export function isIn(client: HubClient, stream: string): boolean {
  const room = roomOfStream(stream);
  if (room !== undefined) return client.rooms?.has(room) === true;
  return (
    stream === ALL_STREAM ||
    stream === userStream(client.userId ?? '\0') ||
    stream === clientStream(client.id)
  );
}
