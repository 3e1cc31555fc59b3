import { isObservable, type Observable, type Subscription } from 'rxjs';
import { hubLogger } from '../util/logger.js';
import { VIOLATION_WINDOW_MS } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { errorText } from '../util/error-text.js';
import { CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import { encodeError, encodeFrame, type HubEnvelope } from '../protocol/envelope.js';
import { HubHandlerError } from '../protocol/hub.error.js';
import { errorReplyOf } from './handler-errors.js';
import type { Connection } from './connection.js';
import type { HubCounters } from './hub-counters.js';
import { LogBudget } from './log-budget.js';
import { WindowCounter } from './window-counter.js';

/** What the dispatcher needs from the hub to answer and to close clients. */
export interface DispatchSink {
  deliverText(client: Connection, text: string): boolean;
  closeClient(client: Connection, code: number, reason: string, why: string): void;
}

/**
 * Everything that answers a frame once its handler ran: the reply frames (every one carrying
 * the frame's id), an Observable's emissions, the error frame of what a handler threw, the
 * per-connection count of unexpected failures and their log lines. Nothing a handler returns
 * or throws can make it throw, leave a rejection unhandled or flood the log.
 */
export class Replies {
  /** Unexpected handler failures logged: 10 lines per 10 s for this hub, the rest counted. */
  private readonly failureLog = new LogBudget(10, 10_000);

  constructor(
    private readonly options: Pick<ResolvedHubOptions, 'maxHandlerFailures'>,
    private readonly counters: HubCounters,
    private readonly sink: DispatchSink,
  ) {}

  /** A handler's result (a value, or an Observable's emissions) as its reply frames. */
  send(client: Connection, value: unknown, event: string, id: string | number | undefined): void {
    if (value === undefined || value === null || client.removed) return;
    if (isObservable(value)) {
      this.follow(client, value, event, id);
      return;
    }
    let text: string;
    try {
      text =
        typeof value === 'object' && typeof (value as HubEnvelope).event === 'string'
          ? encodeFrame((value as HubEnvelope).event, (value as HubEnvelope).data, id)
          : encodeFrame(event, value, id);
    } catch (err) {
      // Circular data, BigInt, or (echoing what a client sent) nesting too deep for
      // JSON.stringify's stack: the client can cause it at will, so it is not logged as an error.
      hubLogger.debug(
        `reply to client ${client.id} not serialisable: ${errorText((err as Error)?.message)}`,
      );
      this.error(client, ErrorCode.INTERNAL, 'reply could not be serialised', id);
      return;
    }
    this.sink.deliverText(client, text);
  }

  /**
   * Every emission of an Observable a handler returned is a reply, until it completes or the
   * client goes. rxjs rethrows an error thrown inside a subscriber's callbacks asynchronously,
   * out of reach (an uncaught exception), so each callback catches what it causes.
   */
  private follow(
    client: Connection,
    value: Observable<unknown>,
    event: string,
    id: string | number | undefined,
  ): void {
    const subscriptions = (client.subscriptions ??= new Set());
    let subscription: Subscription | undefined;
    try {
      subscription = value.subscribe({
        next: (v) => {
          try {
            this.send(client, v, event, id);
          } catch (err) {
            this.lastResort(client, err);
          }
        },
        error: (err: unknown) => {
          if (subscription) subscriptions.delete(subscription);
          try {
            this.failed(client, err, id);
          } catch (failure) {
            this.lastResort(client, failure);
          }
        },
        complete: () => {
          if (subscription) subscriptions.delete(subscription);
        },
      });
    } catch (err) {
      this.failed(client, err, id);
      return;
    }
    if (!subscription.closed && !client.removed) subscriptions.add(subscription);
    else if (client.removed) subscription.unsubscribe();
  }

  /**
   * A handler threw or rejected: the app's own error frames (`errorReplyOf`) go out as they are;
   * anything else is unexpected: answered `INTERNAL` without its text, logged within the log
   * budget, and counted on the connection, which is closed with 1011 past
   * `maxHandlerFailures` within 10 s (a client that keeps making a handler fail would otherwise
   * keep the log busy).
   */
  failed(client: Connection, err: unknown, id: string | number | undefined): void {
    const reply = errorReplyOf(err);
    if (reply) {
      this.error(client, reply.code, reply.message, id, reply.details);
      if (reply.closeCode) this.sink.closeClient(client, reply.closeCode, reply.code, reply.code);
      return;
    }
    const cause = err instanceof HubHandlerError ? err.cause : err;
    const budget = this.failureLog.take();
    if (budget) {
      const { text, stack } = failureText(cause);
      hubLogger.error(`handler failed for client ${client.id}: ${text}${budget.note}`, stack);
    }
    if (client.removed) return;
    client.handlerFailures ??= new WindowCounter(VIOLATION_WINDOW_MS);
    if (client.handlerFailures.hit() > this.options.maxHandlerFailures) {
      this.sink.closeClient(
        client,
        CloseCode.INTERNAL_ERROR,
        'too many failed frames',
        DisconnectReason.HANDLER_FAILURES,
      );
      return;
    }
    this.error(client, ErrorCode.INTERNAL, 'internal error', id);
  }

  /** A failure while answering a failure (a bug of the hub's): logged, never thrown. */
  lastResort(client: Connection, err: unknown): void {
    const budget = this.failureLog.take();
    if (budget) {
      hubLogger.error(`answering client ${client.id} failed: ${errorText(err)}${budget.note}`);
    }
  }

  /** Sends an error frame (and counts it under its bounded label). */
  error(
    client: Connection,
    code: string,
    message: string,
    id?: string | number,
    details?: unknown,
  ): void {
    this.counters.countError(code);
    this.sink.deliverText(client, encodeError(code, message, id, details));
  }
}

/** Longest text of a failure a log line carries. */
const MAX_FAILURE_TEXT = 200;

/**
 * What a log line says of a handler's failure: an `Error`'s message (cut) and its stack (whose
 * first line repeats the message, cut the same way); of anything else thrown, only its type, as
 * it may be what the client sent (`throw body`).
 */
export function failureText(cause: unknown): { text: string; stack: string | undefined } {
  if (!(cause instanceof Error)) {
    const type = cause === null ? 'null' : Array.isArray(cause) ? 'array' : typeof cause;
    return { text: `a thrown ${type} (not an Error; its value is not logged)`, stack: undefined };
  }
  const message = errorText(cause);
  const text =
    message.length > MAX_FAILURE_TEXT ? message.slice(0, MAX_FAILURE_TEXT) + '...' : message;
  const raw = typeof cause.stack === 'string' ? cause.stack : undefined;
  const frames = raw?.split('\n').filter((line) => /^\s+at /.test(line));
  const stack = frames?.length ? `${cause.name}: ${text}\n${frames.join('\n')}` : undefined;
  return { text, stack };
}
