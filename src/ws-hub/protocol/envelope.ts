import { ErrorCode } from './constants.js';

/** One frame of wire protocol v1, in either direction. */
export interface HubEnvelope<T = unknown> {
  event: string;
  data?: T;
  /** The client's correlation id, repeated in every reply to that frame. */
  id?: string | number;
}

/** Longest correlation id accepted, in characters; longer ones are a bad envelope. */
const MAX_ID_LENGTH = 128;
/** Longest event name accepted, in characters. */
const MAX_EVENT_LENGTH = 128;

export type ParsedFrame =
  | { ok: true; envelope: HubEnvelope }
  | { ok: false; code: ErrorCode; message: string; id?: string | number };

function isValidId(id: unknown): id is string | number {
  return (
    (typeof id === 'string' && id.length <= MAX_ID_LENGTH) ||
    (typeof id === 'number' && Number.isFinite(id))
  );
}

/** Parses and validates one text frame; never throws. */
export function parseFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.BAD_JSON, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.BAD_ENVELOPE, message: 'frame must be a JSON object' };
  }
  const frame = value as Record<string, unknown>;
  // JSON.parse makes "__proto__" an own property, so reading it back is safe; using
  // Object.hasOwn keeps inherited names ("constructor", "toString") from passing as fields.
  const id = Object.hasOwn(frame, 'id') ? frame.id : undefined;
  const readableId = isValidId(id) ? id : undefined;
  if (id !== undefined && readableId === undefined) {
    return {
      ok: false,
      code: ErrorCode.BAD_ENVELOPE,
      message: `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a finite number`,
    };
  }
  const event = Object.hasOwn(frame, 'event') ? frame.event : undefined;
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_LENGTH) {
    return {
      ok: false,
      code: ErrorCode.BAD_ENVELOPE,
      message: `"event" must be a non-empty string of at most ${MAX_EVENT_LENGTH} characters`,
      id: readableId,
    };
  }
  return {
    ok: true,
    envelope: {
      event,
      data: Object.hasOwn(frame, 'data') ? frame.data : undefined,
      id: readableId,
    },
  };
}

/** Serialises a server frame with a stable key order: event, id, data. */
export function encodeFrame(event: string, data?: unknown, id?: string | number): string {
  // Built by hand so that an absent id/data leaves no key, without a per-call object copy.
  let out = '{"event":' + JSON.stringify(event);
  if (id !== undefined) out += ',"id":' + JSON.stringify(id);
  if (data !== undefined) {
    const json = JSON.stringify(data);
    // JSON.stringify yields undefined for functions and symbols: leave data out like an absent value.
    if (json !== undefined) out += ',"data":' + json;
  }
  return out + '}';
}

/** Serialises an error frame; `details` (validation messages, ...) only when given. */
export function encodeError(
  code: ErrorCode | string,
  message: string,
  id?: string | number,
  details?: unknown,
): string {
  return encodeFrame(
    'error',
    details === undefined ? { code, message } : { code, message, details },
    id,
  );
}
