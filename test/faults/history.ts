/**
 * What one schedule records: everything the checker needs, and nothing it has to ask a live
 * system for. Times are milliseconds since the schedule started (`performance.now()` based).
 */

/** `[offset, epoch]`, as frames carry it. */
export type Pos = [offset: number, epoch: string];

export interface StreamPos {
  epoch: string;
  offset: number;
}

/** A frame a client received, as it arrived. */
export interface FrameRecord {
  t: number;
  event: string;
  /** The correlation id of a reply. */
  id?: string | number;
  /** The publisher's message id (`data.m`) of a push. */
  m?: string;
  /** Positions of a positioned push. */
  pos?: Record<string, Pos>;
  /** `data` of replies and errors (`joined`, `left`, `error`), not of pushes. */
  data?: unknown;
}

/** The welcome's `recovery` block. */
export interface WelcomeRecovery {
  recovered: boolean;
  streams: Record<string, { epoch: string; offset: number; recovered?: boolean }>;
  refusedRooms?: string[];
}

export interface Welcome {
  t: number;
  clientId: string;
  userId?: string;
  recovery?: WelcomeRecovery;
}

/** A join or leave the client sent on a connection. */
export interface RoomRequest {
  t: number;
  op: 'join' | 'leave';
  room: string;
  id: string;
}

/** Why a connection ended, from the client's side. */
export type EndCause =
  | 'server-close' // the server closed it (code says why)
  | 'continuity' // the client saw a gap, an epoch change or a duplicate-free break: it resumes
  | 'liveness' // no frame for too long: the client gave up on it
  | 'welcome-timeout'
  | 'client-leave' // the schedule took the client offline
  | 'fault' // the test cut it (proxy cut, instance killed)
  | 'end'; // the schedule ended

export interface ConnectionRecord {
  /** Unique in the schedule. */
  id: number;
  client: number;
  /** Index of the instance (0..2) it went to. */
  instance: number;
  tOpen: number;
  /** The `recover` frame's data: whether a session was presented, and the positions. */
  presented?: { session: boolean; streams: Record<string, StreamPos> };
  /** Set when this connection took over a session whose previous connection was still open. */
  takeoverOf?: number;
  welcome?: Welcome;
  frames: FrameRecord[];
  requests: RoomRequest[];
  /** The client stopped processing frames of this connection at this time (it closed it). */
  tStop?: number;
  tClose?: number;
  code?: number;
  reason?: string;
  cause?: EndCause;
  /** What the client's continuity rule objected to, when `cause` is 'continuity'. */
  continuity?: string;
  /** Real clients only: messages handed to the app (`on` listeners), with `replayed`. */
  app?: { t: number; m: string; replayed: boolean }[];
  /** Real clients only: the client's `recovered` when this connection opened. */
  appRecovered?: boolean;
}

export interface ClientRecord {
  index: number;
  kind: 'raw' | 'real';
  userId: string;
  connections: ConnectionRecord[];
}

export type PublishKind = 'all' | 'rooms' | 'user' | 'client';

export interface Publication {
  m: string;
  kind: PublishKind;
  rooms?: string[];
  userId?: string;
  clientId?: string;
  /** Index of the instance it was published through. */
  instance: number;
  tSent: number;
  /** When the instance answered; absent when it never did (killed, stopped). */
  tAck?: number;
  /** The return value (a count, or whether `send` took it). */
  ret?: number | boolean;
  error?: string;
  /** Bytes of padding in the data (to make some frames large). */
  pad: number;
}

export type FaultKind =
  | 'client-cut'
  | 'client-freeze-cut'
  | 'slow-consumer'
  | 'instance-partition'
  | 'network-freeze'
  | 'instance-kill'
  | 'instance-term'
  | 'instance-freeze'
  | 'subscriber-kill-all'
  | 'subscriber-kill-one'
  | 'publisher-kill'
  | 'instance-redis-cut'
  | 'redis-freeze'
  | 'redis-restart-empty'
  | 'redis-restart-kept'
  | 'redis-restart-stale'
  | 'failover-rollback'
  | 'takeover-same'
  | 'takeover-other'
  | 'join-leave-race'
  | 'clock-step';

export const FAULT_KINDS: readonly FaultKind[] = [
  'client-cut',
  'client-freeze-cut',
  'slow-consumer',
  'instance-partition',
  'network-freeze',
  'instance-kill',
  'instance-term',
  'instance-freeze',
  'subscriber-kill-all',
  'subscriber-kill-one',
  'publisher-kill',
  'instance-redis-cut',
  'redis-freeze',
  'redis-restart-empty',
  'redis-restart-kept',
  'redis-restart-stale',
  'failover-rollback',
  'takeover-same',
  'takeover-other',
  'join-leave-race',
  'clock-step',
];

/** Faults after which Redis may have lost data (sessions, credentials, history). */
export const DATA_LOSS_FAULTS: ReadonlySet<FaultKind> = new Set([
  'redis-restart-empty',
  'redis-restart-stale',
  'failover-rollback',
]);

export interface FaultRecord {
  kind: FaultKind;
  t: number;
  /** When it was undone (thawed, restarted), for faults with a duration. */
  tEnd?: number;
  instance?: number;
  client?: number;
  connection?: number;
  stream?: string;
  /** Free text: what exactly was done (rolled back 3 entries, stepped 1 h, ...). */
  detail?: string;
  /** The fault could not be applied (no target at that moment): not counted. */
  skipped?: string;
}

export interface InstanceEvent {
  t: number;
  instance: number;
  what: 'ready' | 'exit';
  id?: string;
  code?: number | null;
  signal?: string | null;
  /** Exit we did not cause. */
  unexpected?: boolean;
}

export interface ScheduleConfig {
  seed: number;
  seconds: number;
  rawClients: number;
  realClients: number;
  rooms: string[];
  publishRatePerS: number;
  faults: FaultKind[];
  sessionTtlMs: number;
  historySize: number;
}

export interface History {
  config: ScheduleConfig;
  /** Length of the run, ms. */
  tEnd: number;
  clients: ClientRecord[];
  publications: Publication[];
  faults: FaultRecord[];
  instances: InstanceEvent[];
  /**
   * The quiet tail: from the final resume of every raw client (faults over, everything healed)
   * to the end. Connections must settle there: no closes, every client welcomed.
   */
  quiet?: { from: number; to: number };
  /** Lines the instances wrote to stderr (ERROR and WARN), with the instance index. */
  logs: { t: number; instance: number; line: string }[];
}
