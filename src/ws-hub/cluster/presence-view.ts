import type { HubInstanceInfo } from '../interfaces/cluster-adapter.interface.js';

/**
 * Presence arithmetic any backend shares: which instances are live, gone, or disagree on the
 * layout, and what to report (this instance always with its live count).
 */

/** A live instance as presence reads it, with its layout ('' when it reports none). */
export interface PresenceEntry extends HubInstanceInfo {
  layout: string;
}

/**
 * The live instances whose layout differs from `mine` (they name channels or keys otherwise:
 * neither reaches the other's clients), with theirs.
 */
export function layoutConflicts(
  view: readonly PresenceEntry[],
  selfId: string,
  mine: string,
): PresenceEntry[] {
  return view.filter((i) => i.id !== selfId && i.layout !== mine);
}

/** The instances once `known` and now missing from `live`; this instance is never gone. */
export function goneInstances(
  known: Iterable<string>,
  live: ReadonlySet<string>,
  selfId: string,
): string[] {
  const gone: string[] = [];
  for (const id of known) if (!live.has(id) && id !== selfId) gone.push(id);
  return gone;
}

/**
 * The instances to report, sorted by id: the store's view (or nothing when it could not
 * answer) with this instance's own entry carrying its live count, and the `lastSeenAt` the
 * store has for it (`now` when it has none).
 */
export function withLocalCount(
  view: HubInstanceInfo[] | undefined,
  selfId: string,
  localOnline: number,
  now: number,
): HubInstanceInfo[] {
  if (!view) return [{ id: selfId, online: localOnline, lastSeenAt: now }];
  const mine = view.find((i) => i.id === selfId);
  const out = view.filter((i) => i.id !== selfId);
  out.push({ id: selfId, online: localOnline, lastSeenAt: mine?.lastSeenAt ?? now });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Connected clients over a list of instances. */
export function totalOnline(instances: readonly HubInstanceInfo[]): number {
  let total = 0;
  for (const i of instances) total += i.online;
  return total;
}
