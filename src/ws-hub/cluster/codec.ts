import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { MID_MARK, POS_MARK, type Positions } from '../protocol/streams.js';

/**
 * Wire format of a message between instances (one pub/sub payload, whatever the transport):
 *
 * ```text
 * {"o":"<origin instance id>","s":<seq>,"t":"b","r":["room"],"x":["client id"]}\n<frame text>
 * ```
 *
 * A small JSON header, a newline, then the frame exactly as the publisher serialised it (the
 * text every client receives). `JSON.stringify` escapes newlines inside strings, so the first
 * `\n` always ends the header; the frame after it is sliced off, never parsed nor re-encoded.
 * Messages without a frame (`disconnect`, `disconnect-user`, `revoke-user`) are the header alone.
 *
 * Header fields: `o` origin instance id (always first: a receiver recognises its own messages
 * with a `startsWith`, without parsing), `s` per-origin sequence number (ordering and
 * de-duplication), `t` type (`b` broadcast, `s` send, `u` user, `d` disconnect, `D`
 * disconnect-user, `R` revoke-user), `r` rooms, `x` except, `c` client id, `u` user id, `k` close code, `m`
 * close reason, `g` the connection to keep (a takeover), `p` (recovery) where the positions
 * start.
 *
 * With recovery on, a recorded message (broadcast, send, user) crosses as the positioned frame:
 * the publish script puts `,"pos":{...}}` in place of the plain frame's last `}`, and `p` is
 * the plain frame's length minus one (the index of `,"pos"`), so a receiver gets the plain
 * frame back as `text.slice(0, p) + '}'` and the positions from the rest, without parsing the
 * frame. A copy of a multi-room broadcast appended once per room (a sharded store) has
 * `,"mid":"<id>"` before `,"pos"`.
 */
interface WireHeader {
  o: string;
  s: number;
  t: 'b' | 's' | 'u' | 'd' | 'D' | 'R';
  r?: string[];
  x?: string[];
  c?: string;
  u?: string;
  k?: number;
  m?: string;
  p?: number;
  /** A takeover: the connection id to keep (`disconnect`). */
  g?: string;
}

/** A message as a receiver decoded it. */
interface DecodedMessage {
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
    case 'broadcast':
    case 'send':
    case 'user':
      return encodeHeader(origin, seq, message) + '\n' + message.frame;
    case 'disconnect': {
      const h: WireHeader = {
        o: origin,
        s: seq,
        t: 'd',
        c: message.clientId,
        k: message.code,
        m: message.reason,
      };
      if (message.keep !== undefined) h.g = message.keep;
      return JSON.stringify(h);
    }
    case 'disconnect-user':
      return JSON.stringify({
        o: origin,
        s: seq,
        t: 'D',
        u: message.userId,
        k: message.code,
        m: message.reason,
      } satisfies WireHeader);
    case 'revoke-user':
      return JSON.stringify({
        o: origin,
        s: seq,
        t: 'R',
        u: message.userId,
        m: message.reason,
      } satisfies WireHeader);
  }
}

/**
 * The header of a message with a frame; with `positioned`, the header of its positioned form
 * (the publish script appends a newline and the positioned frame to it).
 */
export function encodeHeader(
  origin: string,
  seq: number,
  message: Extract<HubAdapterMessage, { frame: string }>,
  positioned = false,
): string {
  let h: WireHeader;
  switch (message.type) {
    case 'broadcast':
      h = { o: origin, s: seq, t: 'b' };
      if (message.rooms) h.r = message.rooms;
      if (message.except && message.except.length) h.x = message.except;
      break;
    case 'send':
      h = { o: origin, s: seq, t: 's', c: message.clientId };
      break;
    case 'user':
      h = { o: origin, s: seq, t: 'u', u: message.userId };
      break;
  }
  if (positioned) h.p = message.frame.length - 1;
  return JSON.stringify(h);
}

/**
 * The positioned frame a recording store built (`,"pos":<posJson>` in place of the plain
 * frame's last `}`), from the positions (JSON) it returned.
 */
export function positionedText(plain: string, posJson: string): string {
  return plain.slice(0, -1) + POS_MARK + posJson + '}';
}

/**
 * Splits a positioned frame at `p` (where the plain frame's last `}` was: `,"pos":` starts
 * there, or `,"mid":"<id>"` before it for a per-room copy): the plain frame, the positions
 * and the copy's id; undefined when it is not one.
 */
export function splitPositioned(
  text: string,
  p: number,
): { plain: string; positions: Positions; mid?: string } | undefined {
  if (!Number.isSafeInteger(p) || p < 1) return undefined;
  let mid: string | undefined;
  let at = p;
  if (text.startsWith(MID_MARK, p)) {
    at = text.indexOf(POS_MARK, p + MID_MARK.length);
    if (at < 0) return undefined;
    try {
      mid = JSON.parse(text.slice(p + MID_MARK.length, at)) as string;
    } catch {
      return undefined;
    }
    if (typeof mid !== 'string') return undefined;
  } else if (!text.startsWith(POS_MARK, p)) return undefined;
  try {
    const positions = JSON.parse(text.slice(at + POS_MARK.length, -1)) as unknown;
    if (typeof positions !== 'object' || positions === null || Array.isArray(positions))
      return undefined;
    const out: { plain: string; positions: Positions; mid?: string } = {
      plain: text.slice(0, p) + '}',
      positions: positions as Positions,
    };
    if (mid !== undefined) out.mid = mid;
    return out;
  } catch {
    return undefined;
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
  let frame = nl < 0 ? undefined : payload.slice(nl + 1);
  let positioned: { text: string; positions: Positions; mid?: string } | undefined;
  if (h.p !== undefined && frame !== undefined) {
    const split = splitPositioned(frame, h.p);
    if (!split) return undefined;
    positioned = { text: frame, positions: split.positions };
    if (split.mid !== undefined) positioned.mid = split.mid;
    frame = split.plain;
  }
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
      if (isString(h.g)) message.keep = h.g;
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
    case 'R':
      if (!isString(h.u)) return undefined;
      message = { type: 'revoke-user', userId: h.u, reason: isString(h.m) ? h.m : '' };
      break;
    default:
      return undefined;
  }
  if (positioned && 'frame' in message) message.positioned = positioned;
  return { origin: h.o, seq: h.s, message };
}
