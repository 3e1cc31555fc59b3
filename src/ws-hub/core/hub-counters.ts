import { DisconnectReason, ErrorCode } from '../protocol/constants.js';

/** Label of error codes past the bounded set (see `HubCounters.countError`). */
export const OTHER_ERROR_CODE = 'OTHER';
/** Label of disconnect reasons that are not one of `DisconnectReason` (an app's own code). */
export const OTHER_REASON = 'other';
/** App error codes (beyond the declared ones) that get a label of their own, first come. */
export const MAX_APP_ERROR_LABELS = 20;
/** What an app error code must look like to get a label of its own. */
const LABEL_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

const BUILT_IN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
const REASONS: ReadonlySet<string> = new Set(Object.values(DisconnectReason));

/**
 * The hub's monitoring counters: plain numbers and small maps bumped on the hot paths (a
 * property increment, or a Map get/set for labelled ones). Exporters (`metrics/`) read them
 * when scraped; nothing here allocates per message. Every labelled map has a bounded set of
 * keys: a code or reason taken from what an app (or, through it, a client) chose cannot make
 * them, nor the metrics series built from them, grow without bound.
 */
export class HubCounters {
  connectionsOpened = 0;
  /** Connections closed, by disconnect reason (`client-closed`, `heartbeat-timeout`, ...). */
  readonly closed = new Map<string, number>();
  /** Handshakes refused, by HTTP status (or close code with `authFailure: 'close'`). */
  readonly rejected: Record<string, number> = {};
  /** Frames received, by the event of a handler that took them, else `unhandled`/`invalid`. */
  readonly frames = new Map<string, number>();
  /** Error frames sent, by code (bounded: see `countError`). */
  readonly errors = new Map<string, number>();
  /** Messages written to sockets (pushes and replies). */
  delivered = 0;
  /** Messages skipped for slow clients (`slowConsumer: 'drop'`). */
  dropped = 0;
  /** Clients closed with 1013 for reading too slowly. */
  slowClosed = 0;
  /** Clients cut by the heartbeat. */
  evictions = 0;
  /** App error codes that have a label of their own. */
  private readonly appCodes: Set<string>;
  private undeclared = 0;

  constructor(
    /** App error codes always counted under their own label (`metrics.errorCodes`). */
    declaredCodes: readonly string[] = [],
  ) {
    this.appCodes = new Set(declaredCodes);
  }

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /**
   * Counts an error frame under its code when it is built in, declared, or one of the first
   * `MAX_APP_ERROR_LABELS` other UPPER_SNAKE_CASE codes seen; under `OTHER` past that.
   */
  countError(code: string): void {
    let label = code;
    if (!BUILT_IN_CODES.has(code) && !this.appCodes.has(code)) {
      if (this.undeclared < MAX_APP_ERROR_LABELS && LABEL_CODE.test(code)) {
        this.undeclared++;
        this.appCodes.add(code);
      } else {
        label = OTHER_ERROR_CODE;
      }
    }
    this.count(this.errors, label);
  }

  /** Counts a closed connection under its reason, or `other` for an app's own. */
  countClosed(reason: string): void {
    this.count(this.closed, REASONS.has(reason) ? reason : OTHER_REASON);
  }
}

/** Label of frames no handler took, and of frames that could not be read. */
export const UNHANDLED_EVENT = 'unhandled';
export const INVALID_FRAME = 'invalid';
