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

export function roomStream(room: string): string {
  return 'room:' + room;
}

export function userStream(userId: string): string {
  return 'user:' + userId;
}

export function clientStream(clientId: string): string {
  return 'client:' + clientId;
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
