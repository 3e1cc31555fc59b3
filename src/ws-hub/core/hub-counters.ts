/**
 * The hub's monitoring counters: plain numbers and small maps bumped on the hot paths (a
 * property increment, or a Map get/set for labelled ones). Exporters (`metrics/`) read them
 * when scraped; nothing here allocates per message.
 */
export class HubCounters {
  connectionsOpened = 0;
  /** Connections closed, by disconnect reason (`client-closed`, `heartbeat-timeout`, ...). */
  readonly closed = new Map<string, number>();
  /** Handshakes refused, by HTTP status (or close code with `authFailure: 'close'`). */
  readonly rejected: Record<string, number> = {};
  /** Frames received, by the event of a handler that took them, else `unhandled`/`invalid`. */
  readonly frames = new Map<string, number>();
  /** Error frames sent, by code. */
  readonly errors = new Map<string, number>();
  /** Messages written to sockets (pushes and replies). */
  delivered = 0;
  /** Messages skipped for slow clients (`slowConsumer: 'drop'`). */
  dropped = 0;
  /** Clients closed with 1013 for reading too slowly. */
  slowClosed = 0;
  /** Clients cut by the heartbeat. */
  evictions = 0;

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}

/** Label of frames no handler took, and of frames that could not be read. */
export const UNHANDLED_EVENT = 'unhandled';
export const INVALID_FRAME = 'invalid';
