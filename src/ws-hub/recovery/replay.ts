import type { Connection } from '../core/connection.js';
import type { HistoryEntry, StreamHistory } from '../interfaces/recovery.interface.js';
import {
  entryKey,
  POS_MARK,
  positionedFrame,
  skipFrame,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';
import { isIn } from './positioned-message.js';

/** The plain frame of a positioned one. */
export function plainOf(positioned: string): string {
  return positioned.slice(0, positioned.lastIndexOf(POS_MARK)) + '}';
}

/**
 * The frames a resuming client missed, from the histories of the streams that could be
 * recovered, such that each stream it replays continues its offsets one by one: each message
 * once (a multi-room broadcast is in several streams), every stream in its own order (streams
 * are merged by append time), and a `skip` frame for the positions of what the client must not
 * get again or at all: a message it had already (a position at or below its own in any stream,
 * same epoch), one that excluded it (`except`), a copy of one replayed already through another
 * stream. Each frame carries the positions of the client's streams only.
 *
 * A message in several streams goes out once it is next in all of them. Copies appended
 * separately (Redis Cluster, one per slot) may be in opposite orders in two streams (two
 * publishers crossed): then the earliest goes out with its own stream's position, and its
 * other copies become `skip` frames when their turn comes.
 */
export function missedMessages(
  histories: readonly StreamHistory[],
  asked: ReadonlyMap<string, StreamPosition>,
  client: Connection,
  /** Filled with the ids of the multi-copy messages (`id`) the replay sends in full. */
  copiesSent?: Set<string>,
  /** Whether a multi-copy message reached the client live already (through another copy). */
  gotCopy: (id: string) => boolean = () => false,
  /**
   * Each stream's epoch as the welcome tells it: a position in an older epoch of a stream (a
   * multi-room message from before that stream's history was renewed) is left out of the frame.
   */
  epochs?: ReadonlyMap<string, string>,
): string[] {
  const merged = mergedPositions(histories);
  const lists = histories.map((h) => h.entries);
  const cursors = lists.map(() => 0);
  // Which lists hold each message (several for a multi-room one).
  const holders = new Map<string, number[]>();
  lists.forEach((list, i) => {
    for (const e of list) {
      const key = keyOf(e);
      const at = holders.get(key);
      if (at) at.push(i);
      else holders.set(key, [i]);
    }
  });
  const headIs = (j: number, key: string): boolean => {
    const head = lists[j][cursors[j]];
    return head !== undefined && keyOf(head) === key;
  };
  const out: string[] = [];
  const done = new Set<string>();
  for (;;) {
    let pick = -1;
    let fallback = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i][cursors[i]];
      if (e === undefined) continue;
      if (fallback < 0 || e.at < lists[fallback][cursors[fallback]].at) fallback = i;
      const key = keyOf(e);
      const ready = holders.get(key)!.every((j) => headIs(j, key));
      if (ready && (pick < 0 || e.at < lists[pick][cursors[pick]].at)) pick = i;
    }
    if (fallback < 0) return out;
    const ready = pick >= 0;
    if (!ready) pick = fallback; // copies in opposite orders: never stall
    const entry = lists[pick][cursors[pick]];
    const key = keyOf(entry);
    // The streams this message advances now, each with its own entry's position.
    const now: Positions = {};
    for (const j of ready ? holders.get(key)! : [pick]) {
      if (!headIs(j, key)) continue;
      const head = lists[j][cursors[j]++];
      const stream = histories[j].stream;
      now[stream] = head.positions[stream] ?? Object.values(head.positions)[0];
    }
    const positions = (entry.id !== undefined && merged.get(entry.id)) || entry.positions;
    if (
      done.has(key) ||
      hadIt(positions, asked) ||
      (entry.id !== undefined && gotCopy(entry.id)) ||
      entry.except?.includes(client.id) === true
    ) {
      done.add(key);
      out.push(skipFrame(now));
      continue;
    }
    done.add(key);
    if (entry.id !== undefined) copiesSent?.add(entry.id);
    // Its positions in the client's streams, minus the replayed streams it is not next in yet
    // (those get a `skip` when it is).
    const later = new Set(holders.get(key)!.map((j) => histories[j].stream));
    const mine: Positions = {};
    let same = !entry.id;
    for (const stream in positions) {
      const current = epochs?.get(stream);
      if (
        isIn(client, stream) &&
        (stream in now ||
          (!later.has(stream) && (current === undefined || current === positions[stream][1])))
      ) {
        mine[stream] = stream in now ? now[stream] : positions[stream];
      } else same = false;
    }
    out.push(same ? entry.text : positionedFrame(plainOf(entry.text), mine));
  }
}

/** A message's identity across the streams it is in. */
function keyOf(entry: HistoryEntry): string {
  return entry.id ?? entryKey(entry.positions);
}

/** For messages appended as several copies (an `id`): the positions of all copies read. */
function mergedPositions(histories: readonly StreamHistory[]): Map<string, Positions> {
  const merged = new Map<string, Positions>();
  for (const h of histories) {
    for (const e of h.entries) {
      if (e.id === undefined) continue;
      const positions = merged.get(e.id);
      if (positions) Object.assign(positions, e.positions);
      else merged.set(e.id, { ...e.positions });
    }
  }
  return merged;
}

/** Whether the client's own position in one of the message's streams is at or past it. */
function hadIt(positions: Positions, asked: ReadonlyMap<string, StreamPosition>): boolean {
  for (const stream in positions) {
    const mine = asked.get(stream);
    const [offset, epoch] = positions[stream];
    if (mine !== undefined && mine.epoch === epoch && offset <= mine.offset) return true;
  }
  return false;
}
