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

/** Why a frame could not be read: the error frame's code and message, and its id if readable. */
export class FrameError {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly id?: string | number,
  ) {}
}

/**
 * Reads and validates one text frame; never throws. The hot path's form of `parseFrame`: the
 * envelope itself, or a `FrameError` (one object per frame, not two).
 */
export function readFrame(text: string): HubEnvelope | FrameError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new FrameError(ErrorCode.BAD_JSON, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new FrameError(ErrorCode.BAD_ENVELOPE, 'frame must be a JSON object');
  }
  const frame = value as Record<string, unknown>;
  // JSON.parse makes "__proto__" an own property, so reading it back is safe; using
  // Object.hasOwn keeps inherited names ("constructor", "toString") from passing as fields.
  const id = Object.hasOwn(frame, 'id') ? frame.id : undefined;
  const readableId = isValidId(id) ? id : undefined;
  if (id !== undefined && readableId === undefined) {
    return new FrameError(
      ErrorCode.BAD_ENVELOPE,
      `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a finite number`,
    );
  }
  const event = Object.hasOwn(frame, 'event') ? frame.event : undefined;
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_LENGTH) {
    return new FrameError(
      ErrorCode.BAD_ENVELOPE,
      `"event" must be a non-empty string of at most ${MAX_EVENT_LENGTH} characters`,
      readableId,
    );
  }
  return { event, data: Object.hasOwn(frame, 'data') ? frame.data : undefined, id: readableId };
}

/** Parses and validates one text frame; never throws. */
export function parseFrame(text: string): ParsedFrame {
  const read = readFrame(text);
  if (!(read instanceof FrameError)) return { ok: true, envelope: read };
  const failure: ParsedFrame = { ok: false, code: read.code, message: read.message };
  if (read.id !== undefined) failure.id = read.id;
  return failure;
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
