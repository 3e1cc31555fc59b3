import { seenInReplay, type Delivery } from '../core/delivery.js';
import type { HubClient } from '../core/hub-client.js';
import type { HistoryEntry, StreamHistory } from '../interfaces/recovery.interface.js';
import { entryKey, type StreamPosition } from '../protocol/streams.js';

/**
 * The frames a resuming client missed, from the histories of the streams that could be
 * recovered: each message once (a multi-room broadcast is in several streams), every stream in
 * its own order (streams are merged by append time), without what the client already had (a
 * position at or below its own in any stream) nor what excluded it (`except`).
 */
export function missedMessages(
  histories: StreamHistory[],
  asked: Map<string, StreamPosition>,
  clientId: string,
): string[] {
  const out: string[] = [];
  const lists = histories.map((h) => h.entries);
  const cursors = lists.map(() => 0);
  const sent = new Set<string>();
  for (;;) {
    let pick = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i][cursors[i]];
      if (e !== undefined && (pick < 0 || e.at < lists[pick][cursors[pick]].at)) pick = i;
    }
    if (pick < 0) return out;
    const entry = lists[pick][cursors[pick]++];
    const key = entry.id ?? entryKey(entry.positions);
    if (sent.has(key) || hadIt(entry, asked) || entry.except?.includes(clientId)) continue;
    sent.add(key);
    out.push(entry.text);
  }
}

/** Whether the client's own position in one of the entry's streams is at or past it. */
function hadIt(entry: HistoryEntry, asked: Map<string, StreamPosition>): boolean {
  for (const stream in entry.positions) {
    const mine = asked.get(stream);
    const [offset, epoch] = entry.positions[stream];
    if (mine !== undefined && mine.epoch === epoch && offset <= mine.offset) return true;
  }
  return false;
}

/**
 * After the replay: lets the live frames held meanwhile through, minus those the replay
 * carried, and leaves the seam (the newest offset per stream at the welcome) to catch live
 * frames still in flight.
 */
export function releaseHeld(client: HubClient, reads: StreamHistory[], delivery: Delivery): void {
  const rec = client.recovery!;
  const held = rec.held ?? [];
  rec.held = undefined;
  rec.seam = new Map(reads.map((h) => [h.stream, h.top]));
  for (const h of held) {
    if (rec.seam !== undefined && seenInReplay(rec, h.positions)) continue;
    if (!delivery.message(client, undefined, h.frame)) return;
  }
}
