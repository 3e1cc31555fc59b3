import { MAX_STREAM_NAME, type StreamPosition } from '../protocol/streams.js';

/** Most streams one `recover` frame may name (all, user, client and `maxRoomsPerClient` rooms). */
export const MAX_RECOVER_STREAMS = 1_000;

/** A `recover` frame's data, checked. */
export interface RecoverRequest {
  /** The previous connection's resume credential, when the client has one. */
  session: string | undefined;
  /** Where the client is in each stream it knows. */
  streams: Map<string, StreamPosition>;
}

/**
 * Reads `{"session"?: string, "streams"?: {"<stream>": {"epoch": string, "offset": number}}}`;
 * a string describing the problem when it is not that shape.
 */
export function parseRecoverRequest(data: unknown): RecoverRequest | string {
  if (data === undefined || data === null) return { session: undefined, streams: new Map() };
  if (typeof data !== 'object' || Array.isArray(data)) return '"data" must be an object';
  const { session, streams } = data as Record<string, unknown>;
  if (session !== undefined && session !== null && typeof session !== 'string') {
    return '"data.session" must be a string';
  }
  const out = new Map<string, StreamPosition>();
  if (streams !== undefined && streams !== null) {
    if (typeof streams !== 'object' || Array.isArray(streams))
      return '"data.streams" must be an object';
    const entries = Object.entries(streams as Record<string, unknown>);
    if (entries.length > MAX_RECOVER_STREAMS) return `at most ${MAX_RECOVER_STREAMS} streams`;
    for (const [name, pos] of entries) {
      const p = pos as Partial<StreamPosition> | null;
      if (
        name.length === 0 ||
        name.length > MAX_STREAM_NAME ||
        typeof p !== 'object' ||
        p === null ||
        typeof p.epoch !== 'string' ||
        p.epoch.length > 64 ||
        typeof p.offset !== 'number' ||
        !Number.isSafeInteger(p.offset) ||
        p.offset < 0
      ) {
        return `"data.streams" entries must be {"epoch": string, "offset": integer >= 0}`;
      }
      out.set(name, { epoch: p.epoch, offset: p.offset });
    }
  }
  return { session: session ?? undefined, streams: out };
}
