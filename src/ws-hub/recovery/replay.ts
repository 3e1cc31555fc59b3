import type { HubClient } from '../core/hub-client.js';
import type { HistoryEntry, StreamHistory } from '../interfaces/recovery.interface.js';
import {
  entryKey,
  positionedFrame,
  type Positions,
  type StreamPosition,
} from '../protocol/streams.js';
import { isIn } from './positioned-message.js';

/** Where the positions start in a positioned frame (the last `,"pos":` of its text). */
const POS_MARK = ',"pos":';

/** The plain frame of a positioned one. */
export function plainOf(positioned: string): string {
  return positioned.slice(0, positioned.lastIndexOf(POS_MARK)) + '}';
}

/**
 * The frames a resuming client missed, from the histories of the streams that could be
 * recovered: each message once (a multi-room broadcast is in several streams), every stream in
 * its own order (streams are merged by append time), without what the client already had (a
 * position at or below its own in any stream, same epoch) nor what excluded it (`except`).
 * Each frame carries the positions of the client's streams only, and all of them: a message
 * whose copies were appended separately (Redis Cluster, one per slot) carries the positions of
 * every copy read, so that a later resume does not replay it again through another stream.
 */
export function missedMessages(
  histories: readonly StreamHistory[],
  asked: ReadonlyMap<string, StreamPosition>,
  client: HubClient,
): string[] {
  const merged = mergedPositions(histories);
  const lists = histories.map((h) => h.entries);
  const cursors = lists.map(() => 0);
  // Which lists hold each message (several for a multi-room one): it goes out only once it is
  // next in all of them, so that every stream keeps its order (copies appended on different
  // Redis Cluster nodes carry those nodes' times, which do not order them across streams).
  const holders = new Map<string, number[]>();
  lists.forEach((list, i) => {
    for (const e of list) {
      const key = keyOf(e);
      const at = holders.get(key);
      if (at) at.push(i);
      else holders.set(key, [i]);
    }
  });
  const out: string[] = [];
  const sent = new Set<string>();
  for (;;) {
    let pick = -1;
    let fallback = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i][cursors[i]];
      if (e === undefined) continue;
      if (fallback < 0 || e.at < lists[fallback][cursors[fallback]].at) fallback = i;
      const key = keyOf(e);
      const ready = holders.get(key)!.every((j) => {
        const head = lists[j][cursors[j]];
        return head !== undefined && keyOf(head) === key;
      });
      if (ready && (pick < 0 || e.at < lists[pick][cursors[pick]].at)) pick = i;
    }
    if (fallback < 0) return out;
    if (pick < 0) pick = fallback; // histories that disagree on order: never stall
    const entry = lists[pick][cursors[pick]];
    const key = keyOf(entry);
    for (const j of holders.get(key)!) {
      const head = lists[j][cursors[j]];
      if (head !== undefined && keyOf(head) === key) cursors[j]++;
    }
    if (sent.has(key)) continue; // a copy left behind by the fallback
    sent.add(key);
    const positions = (entry.id !== undefined && merged.get(entry.id)) || entry.positions;
    if (hadIt(positions, asked) || entry.except?.includes(client.id)) continue;
    out.push(frameFor(entry, positions, client));
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

/** The entry's frame with exactly the positions of `positions` the client is in. */
function frameFor(entry: HistoryEntry, positions: Positions, client: HubClient): string {
  const mine: Positions = {};
  let same = positions === entry.positions;
  for (const stream in positions) {
    if (isIn(client, stream)) mine[stream] = positions[stream];
    else same = false;
  }
  return same ? entry.text : positionedFrame(plainOf(entry.text), mine);
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
