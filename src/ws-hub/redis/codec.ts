import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';

/**
 * Wire format of a message on a Redis channel:
 *
 * ```text
 * {"o":"<origin instance id>","s":<seq>,"t":"b","r":["room"],"x":["client id"]}\n<frame text>
 * ```
 *
 * A small JSON header, a newline, then the frame exactly as the publisher serialised it (the
 * text every client receives). `JSON.stringify` escapes newlines inside strings, so the first
 * `\n` always ends the header; the frame after it is sliced off, never parsed nor re-encoded.
 * Messages without a frame (`disconnect`, `disconnect-user`) are the header alone.
 *
 * Header fields: `o` origin instance id (always first: a receiver recognises its own messages
 * with a `startsWith`, without parsing), `s` per-origin sequence number (ordering and
 * de-duplication), `t` type (`b` broadcast, `s` send, `u` user, `d` disconnect, `D`
 * disconnect-user), `r` rooms, `x` except, `c` client id, `u` user id, `k` close code, `m`
 * close reason.
 */
interface WireHeader {
  o: string;
  s: number;
  t: 'b' | 's' | 'u' | 'd' | 'D';
  r?: string[];
  x?: string[];
  c?: string;
  u?: string;
  k?: number;
  m?: string;
}

/** A message as a receiver decoded it. */
export interface DecodedMessage {
  origin: string;
  seq: number;
  message: HubAdapterMessage;
}

/** The start of every header `origin` publishes; lets a receiver skip its own messages cheaply. */
export function originPrefix(origin: string): string {
  return `{"o":${JSON.stringify(origin)},`;
}

/** Encodes a message once; the same string is published to every channel that needs it. */
export function encodeMessage(origin: string, seq: number, message: HubAdapterMessage): string {
  switch (message.type) {
    case 'broadcast': {
      const h: WireHeader = { o: origin, s: seq, t: 'b' };
      if (message.rooms) h.r = message.rooms;
      if (message.except && message.except.length) h.x = message.except;
      return JSON.stringify(h) + '\n' + message.frame;
    }
    case 'send':
      return (
        JSON.stringify({ o: origin, s: seq, t: 's', c: message.clientId } satisfies WireHeader) +
        '\n' +
        message.frame
      );
    case 'user':
      return (
        JSON.stringify({ o: origin, s: seq, t: 'u', u: message.userId } satisfies WireHeader) +
        '\n' +
        message.frame
      );
    case 'disconnect':
      return JSON.stringify({
        o: origin,
        s: seq,
        t: 'd',
        c: message.clientId,
        k: message.code,
        m: message.reason,
      } satisfies WireHeader);
    case 'disconnect-user':
      return JSON.stringify({
        o: origin,
        s: seq,
        t: 'D',
        u: message.userId,
        k: message.code,
        m: message.reason,
      } satisfies WireHeader);
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** Decodes a payload (one `JSON.parse` of the header); `undefined` when it is not ours or malformed. */
export function decodeMessage(payload: string): DecodedMessage | undefined {
  const nl = payload.indexOf('\n');
  let h: WireHeader;
  try {
    h = JSON.parse(nl < 0 ? payload : payload.slice(0, nl)) as WireHeader;
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null || !isString(h.o) || typeof h.s !== 'number')
    return undefined;
  const frame = nl < 0 ? undefined : payload.slice(nl + 1);
  let message: HubAdapterMessage;
  switch (h.t) {
    case 'b':
      if (
        frame === undefined ||
        (h.r !== undefined && !isStringList(h.r)) ||
        (h.x !== undefined && !isStringList(h.x))
      ) {
        return undefined;
      }
      message = { type: 'broadcast', frame, rooms: h.r, except: h.x };
      break;
    case 's':
      if (frame === undefined || !isString(h.c)) return undefined;
      message = { type: 'send', clientId: h.c, frame };
      break;
    case 'u':
      if (frame === undefined || !isString(h.u)) return undefined;
      message = { type: 'user', userId: h.u, frame };
      break;
    case 'd':
      if (!isString(h.c) || typeof h.k !== 'number') return undefined;
      message = { type: 'disconnect', clientId: h.c, code: h.k, reason: isString(h.m) ? h.m : '' };
      break;
    case 'D':
      if (!isString(h.u) || typeof h.k !== 'number') return undefined;
      message = {
        type: 'disconnect-user',
        userId: h.u,
        code: h.k,
        reason: isString(h.m) ? h.m : '',
      };
      break;
    default:
      return undefined;
  }
  return { origin: h.o, seq: h.s, message };
}
