/**
 * Streams: everything a recovering client can miss lives on one, with an offset that grows by
 * one per message and an epoch that changes whenever the stream's history is lost.
 *
 * - `all`: broadcasts to everyone;
 * - `room:<room>`: broadcasts to a room (a multi-room broadcast is one entry in each room);
 * - `user:<userId>`: `sendToUser`;
 * - `client:<clientId>`: `send` to one client (its session's own stream).
 */
export const ALL_STREAM = 'all';
export const ROOM_PREFIX = 'room:';
export const USER_PREFIX = 'user:';
export const CLIENT_PREFIX = 'client:';

export function roomStream(room: string): string {
  return ROOM_PREFIX + room;
}

export function userStream(userId: string): string {
  return USER_PREFIX + userId;
}

export function clientStream(clientId: string): string {
  return CLIENT_PREFIX + clientId;
}

/** The room of a room stream, or undefined for another stream. */
export function roomOfStream(stream: string): string | undefined {
  return stream.startsWith(ROOM_PREFIX) ? stream.slice(ROOM_PREFIX.length) : undefined;
}

/** A position in a stream as frames carry it: `[offset, epoch]`. */
export type Position = [offset: number, epoch: string];

/** Positions of one message, by stream (several for a multi-room broadcast). */
export type Positions = Record<string, Position>;

/** Where a client says it is in a stream. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/**
 * The positioned frame: the plain frame with `"pos"` appended, built once per message. The
 * plain frame is always `{...}` from `encodeFrame`, so the suffix goes before its last brace.
 */
export function positionedFrame(plain: string, positions: Positions): string {
  return plain.slice(0, -1) + ',"pos":' + JSON.stringify(positions) + '}';
}

/** Where the positions start in a positioned frame (its last `,"pos":`). */
export const POS_MARK = ',"pos":';

/**
 * Redis Cluster: a multi-room broadcast is appended once per room (each room on its own slot)
 * and its frames carry `"mid"`, the same for all its copies, before `"pos"`. A client that gets
 * a frame whose `mid` it processed already steps over its positions (see `skip`).
 */
export const MID_MARK = ',"mid":';

/** The `skip` frame for `positions`: offsets that carry nothing for the recipient. */
export function skipFrame(positions: Positions): string {
  return '{"event":"skip","pos":' + JSON.stringify(positions) + '}';
}

/** The positions of a positioned frame's text, or undefined when it has none. */
export function positionsOf(text: string): Positions | undefined {
  const at = text.lastIndexOf(POS_MARK);
  if (at < 0) return undefined;
  try {
    const positions = JSON.parse(text.slice(at + POS_MARK.length, -1)) as unknown;
    if (typeof positions !== 'object' || positions === null || Array.isArray(positions))
      return undefined;
    return positions as Positions;
  } catch {
    return undefined;
  }
}

/**
 * The continuity rule, for a receiver at `mine` in a stream that gets a message at `next`:
 * - `next`: the message follows (offset + 1, same epoch; or offset 1 of any epoch after 0,
 *   "nothing yet");
 * - `duplicate`: at or below the receiver's offset in the same epoch (already had it);
 * - `gap`: a higher offset: messages in between were missed;
 * - `epoch`: another epoch: the stream's history was lost, whatever came in between is unknown.
 * Only `next` may be processed; `gap` and `epoch` mean continuity is lost (resume).
 */
export function continuity(
  mine: StreamPosition,
  next: Position,
): 'next' | 'duplicate' | 'gap' | 'epoch' {
  const [offset, epoch] = next;
  if (mine.offset === 0) return offset === 1 ? 'next' : offset < 1 ? 'duplicate' : 'gap';
  if (epoch !== mine.epoch) return 'epoch';
  if (offset === mine.offset + 1) return 'next';
  return offset > mine.offset ? 'gap' : 'duplicate';
}

/** A message's identity across the streams it is in: its first position. */
export function entryKey(positions: Positions): string {
  for (const stream in positions) return stream + '@' + positions[stream][0];
  return '';
}

/** Longest stream name accepted from a client (room names are at most 128 characters). */
export const MAX_STREAM_NAME = 200;

/**
 * What a stream's epoch and newest offset alone say about a read from `since`: `true` (nothing
 * to read and nothing missed), `false` (something is missing: another epoch, or an offset the
 * stream never had), or `undefined` (the entries after `since` decide). Offset 0 is "nothing
 * yet" in any epoch.
 */
export function readFromTop(
  epoch: string,
  top: number,
  since: StreamPosition | undefined,
): boolean | undefined {
  if (!since) return true;
  if ((since.offset > 0 && since.epoch !== epoch) || since.offset > top) return false;
  if (since.offset === top) return true;
  return undefined;
}
