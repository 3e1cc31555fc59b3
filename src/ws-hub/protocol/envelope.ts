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

type ParsedFrame =
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

/** Limits on an error frame's `details`: past any of them the frame goes out without `details`. */
export const ERROR_DETAILS_LIMITS = {
  /** Nesting levels (a ValidationPipe's messages nest two or three). */
  maxDepth: 8,
  /** Values visited (keys, array items, leaves). */
  maxValues: 1_000,
  /** Characters of the encoded `details`. */
  maxChars: 8_192,
} as const;
/** Longest error `message` sent, in characters; longer ones are cut. */
export const MAX_ERROR_MESSAGE_CHARS = 1_000;
/** Longest error `code` sent, in characters. */
export const MAX_ERROR_CODE_CHARS = 64;

/**
 * The JSON of an error frame's `details`, or undefined when it cannot be sent as is: nested
 * deeper, larger or longer than `ERROR_DETAILS_LIMITS`, circular, holding a BigInt, an `Error`
 * (at any depth), an object with its own `toJSON`, or throwing getters. What an app puts there may hold a client's input
 * (a `ValidationError`'s `value` and `target`): it must neither crash the encoder (8 000 nested
 * arrays overflow `JSON.stringify`'s stack) nor cost more than a bounded walk. Never throws.
 */
export function detailsJson(details: unknown): string | undefined {
  const { maxDepth, maxValues, maxChars } = ERROR_DETAILS_LIMITS;
  let values = 0;
  let chars = 0;
  const fits = (value: unknown, depth: number): boolean => {
    if (++values > maxValues) return false;
    switch (typeof value) {
      case 'string':
        return (chars += value.length) <= maxChars;
      case 'number':
      case 'boolean':
      case 'undefined':
      case 'function':
      case 'symbol':
        return true; // numbers print, the others are left out (or null in arrays) by JSON
      case 'bigint':
        return false;
    }
    if (value === null || value instanceof Date) return true;
    // An Error is what the app did not mean to send: its fields (code, address, port, ...)
    // describe the server's internals.
    if (value instanceof Error) return false;
    if (depth >= maxDepth) return false; // deep, or circular
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (!fits(value[i], depth + 1)) return false;
      return true;
    }
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
    for (const key of Object.keys(value as object)) {
      if ((chars += key.length) > maxChars) return false;
      if (!fits((value as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return true;
  };
  try {
    if (!fits(details, 0)) return undefined;
    const json = JSON.stringify(details);
    return json !== undefined && json.length <= maxChars ? json : undefined;
  } catch {
    return undefined;
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 3) + '...';
}

/**
 * Serialises an error frame; never throws. `details` (validation messages, ...) goes out only
 * when given and within `ERROR_DETAILS_LIMITS` (else the frame has none); the code and the
 * message are cut to their limits.
 */
export function encodeError(
  code: ErrorCode | string,
  message: string,
  id?: string | number,
  details?: unknown,
): string {
  let out =
    '{"event":"error"' +
    (id !== undefined ? ',"id":' + JSON.stringify(id) : '') +
    ',"data":{"code":' +
    JSON.stringify(
      cut(typeof code === 'string' ? code : ErrorCode.INTERNAL, MAX_ERROR_CODE_CHARS),
    ) +
    ',"message":' +
    JSON.stringify(cut(typeof message === 'string' ? message : '', MAX_ERROR_MESSAGE_CHARS));
  if (details !== undefined) {
    const json = detailsJson(details);
    if (json !== undefined) out += ',"details":' + json;
  }
  return out + '}}';
}
