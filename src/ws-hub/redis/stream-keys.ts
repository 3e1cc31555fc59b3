import type { HistoryEntry, StreamHistory } from '../interfaces/recovery.interface.js';
import {
  positionsOf,
  readFromTop,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';
import { newEpoch } from '../util/random.js';
import type { ChannelNames } from './channels.js';

/**
 * Recovery's keys and the pure side of its scripts (`stream-scripts.ts`): key names, script
 * arguments, reading the replies. Every key of a stream starts with its channel, a hash tag
 * (`{<prefix>:<stream>}`), so a stream's keys and channel share one Redis Cluster slot:
 *
 * - `{<prefix>:<stream>}:m` meta hash (`e` epoch, `s` newest offset);
 * - `{<prefix>:<stream>}:h` history, a Redis Stream with ids `<offset>-0`;
 * - `{<prefix>:client:<id>}:s` a session (`h` hash of its secret, `u` its user, `c` the
 *   connection holding it);
 * - `{<prefix>:client:<id>}:r` its rooms (room → `1` joined by the client, `0` by the server).
 */
export class StreamKeys {
  constructor(private readonly names: ChannelNames) {}

  channel(stream: string): string {
    return this.names.stream(stream);
  }

  meta(stream: string): string {
    return this.names.stream(stream) + ':m';
  }

  history(stream: string): string {
    return this.names.stream(stream) + ':h';
  }

  session(clientId: string): string {
    return this.names.client(clientId) + ':s';
  }

  sessionRooms(clientId: string): string {
    return this.names.client(clientId) + ':r';
  }
}

/** Where epoch candidates come from (one per stream per script; tests inject their own). */
export interface EpochSource {
  next(): string;
}

/** Epoch candidates from the CSPRNG. */
export const randomEpochs: EpochSource = { next: newEpoch };

/** The streams' settings a script needs, as strings. */
export interface StreamLimits {
  historySize: string;
  historyTtlMs: string;
  metaTtlMs: string;
}

/** KEYS and ARGV of `APPEND_PUBLISH` for one message. */
export function appendArgs(
  keys: StreamKeys,
  epochs: EpochSource,
  limits: StreamLimits,
  header: string,
  plain: string,
  streams: readonly string[],
  except: readonly string[] | undefined,
  /**
   * Redis Cluster: SPUBLISH, and for a message appended as several copies (one per stream) the
   * id they share (`mid` in their frames).
   */
  copies?: { id: string },
  /** The newest position the publisher saw of some streams (a rollback check). */
  floors?: Positions,
): string[] {
  const keyArgs: string[] = [];
  const perStream: string[] = [];
  for (const s of streams) {
    keyArgs.push(keys.meta(s), keys.history(s));
    const floor = floors?.[s];
    perStream.push(
      JSON.stringify(s),
      epochs.next(),
      keys.channel(s),
      floor ? String(floor[0]) : '0',
      floor ? floor[1] : '',
    );
  }
  return [
    String(streams.length * 2),
    ...keyArgs,
    header,
    plain,
    limits.historySize,
    limits.historyTtlMs,
    limits.metaTtlMs,
    except && except.length ? JSON.stringify(except) : '',
    String(plain.length - 1),
    ...perStream,
    ...(copies ? [copies.id, 'S'] : []),
  ];
}

/** One JSON object of the positions from the per-group replies (`{"a":[1,"e"]}` each). */
export function mergePositions(replies: unknown[]): string {
  const parts: string[] = [];
  for (const r of replies) {
    const inner = String(r).slice(1, -1);
    if (inner) parts.push(inner);
  }
  return '{' + parts.join(',') + '}';
}

/** A session's user as stored: `+<id>`, or `-` for an anonymous client. */
export function userField(userId: string | undefined): string {
  return userId === undefined ? '-' : '+' + userId;
}

/** `READ_STREAM`'s ARGV for a read after `since`: the first offset wanted, the epoch, the last. */
export function readArgs(
  since: StreamPosition | undefined,
  until: number,
): [string, string, string] {
  if (!since) return ['0', '', '0'];
  const last = Number.isFinite(until) ? String(until) : '+';
  return [String(since.offset + 1), since.offset === 0 ? '' : since.epoch, last];
}

type RawEntry = [id: string, fields: string[]];

/** One history entry as XRANGE gives it; a tombstone has no text. */
interface ParsedEntry {
  offset: number;
  /** Microseconds (Redis time). */
  atUs: number;
  entry: HistoryEntry | undefined;
}

export function parseEntry(raw: RawEntry): ParsedEntry | undefined {
  if (!Array.isArray(raw) || !Array.isArray(raw[1])) return undefined;
  const offset = parseInt(String(raw[0]), 10);
  const f: Record<string, string> = {};
  const list = raw[1];
  for (let i = 0; i + 1 < list.length; i += 2) f[String(list[i])] = String(list[i + 1]);
  const atUs = Number(f.a);
  if (!Number.isSafeInteger(offset) || !Number.isFinite(atUs)) return undefined;
  if (f.g !== undefined || f.d === undefined) return { offset, atUs, entry: undefined };
  const text = f.d;
  const positions = positionsOf(text);
  if (positions === undefined) return { offset, atUs, entry: undefined };
  const entry: HistoryEntry = { text, positions, at: atUs / 1000 };
  if (f.i !== undefined) entry.id = f.i;
  if (f.x !== undefined) {
    try {
      entry.except = JSON.parse(f.x) as string[];
    } catch {
      return { offset, atUs, entry: undefined };
    }
  }
  return { offset, atUs, entry };
}

/**
 * A `READ_STREAM` reply as a `StreamHistory`, with the semantics of the in-memory history:
 * offset 0 is "nothing yet" in any epoch; past it the epoch must be the stream's; the entries
 * after the asked offset must all be there, none older than `historyTtlMs` (by Redis time) and
 * no tombstone, for the read to be complete.
 */
export function parseRead(
  stream: string,
  since: StreamPosition | undefined,
  reply: unknown,
  historyTtlMs: number,
  until: number = Infinity,
): StreamHistory {
  if (!Array.isArray(reply) || reply.length < 4) throw new Error('unexpected history reply');
  const epoch = String(reply[0]);
  const top = Number(reply[1]) || 0;
  const nowUs = Number(reply[2]);
  const none = (complete: boolean): StreamHistory => ({
    stream,
    epoch,
    top,
    entries: [],
    complete,
  });
  const known = readFromTop(epoch, top, since);
  if (known !== undefined || !since) return none(known ?? true);
  const end = Math.min(until, top);
  const oldestUs = nowUs - historyTtlMs * 1000;
  const entries: HistoryEntry[] = [];
  let first = -1;
  let complete = true;
  for (const raw of reply[3] as RawEntry[]) {
    const parsed = parseEntry(raw);
    if (!parsed || parsed.offset <= since.offset || parsed.offset > end) continue;
    if (!parsed.entry || parsed.atUs < oldestUs) {
      complete = false; // a tombstone, an expired or unreadable entry
      continue;
    }
    if (first < 0) first = parsed.offset;
    entries.push(parsed.entry);
  }
  complete &&= entries.length === end - since.offset && (first < 0 || first === since.offset + 1);
  return { stream, epoch, top, entries, complete };
}
