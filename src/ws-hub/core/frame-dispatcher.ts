import { isObservable, type Subscription } from 'rxjs';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import { hubLogger } from '../logger.js';
import { VIOLATION_WINDOW_MS } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { errorText } from '../options/validators.js';
import { ClientEvent, CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import {
  encodeError,
  encodeFrame,
  FrameError,
  readFrame,
  type HubEnvelope,
} from '../protocol/envelope.js';
import { HubHandlerError } from '../protocol/hub.error.js';
import { errorReplyOf } from './handler-errors.js';
import type { HubClient } from './hub-client.js';
import { HubCounters, INVALID_FRAME, UNHANDLED_EVENT } from './hub-counters.js';
import { takeToken } from './rate-limit.js';
import { WindowCounter } from './window-counter.js';

/** A gateway handler as the socket adapter hands it over: `(data, event, id)`. */
export type HubFrameHandler = (
  data: unknown,
  event: string,
  id: string | number | undefined,
) => unknown;

/** A handler called with the client first, outside Nest's pipeline. */
export type HubDirectHandler = (
  client: HubClient,
  data: unknown,
  event: string,
  id: string | number | undefined,
) => unknown;

/** Who sent the frame a custom handler (`HubService.handle`) is answering. */
export interface HubHandlerContext {
  clientId: string;
  userId: string | undefined;
  principal: HubPrincipal | undefined;
  event: string;
  /** The frame's correlation id; the reply repeats it without the handler's help. */
  id: string | number | undefined;
}

/**
 * Handles a custom client event. The return value (or its promise) is the reply: an object
 * with a string `event` is sent as `{event, id, data}`, anything else as `{event: <same event>,
 * id, data: value}`; `undefined` sends nothing. Throw `HubError` to answer a specific code.
 */
export type HubEventHandler<T = any> = (context: HubHandlerContext, data: T) => unknown;

/** What the dispatcher needs from the hub to answer and to close clients. */
export interface DispatchSink {
  deliverText(client: HubClient, text: string): boolean;
  closeClient(client: HubClient, code: number, reason: string, why: string): void;
}

/**
 * Everything between a frame arriving and its reply leaving: rate limit, validation, error
 * frames, the handler call (a Nest gateway handler or a custom one) and the reply, which
 * always carries the frame's id. Nothing a client sends can make it throw.
 */
export class HubFrameDispatcher {
  private readonly customHandlers = new Map<string, HubEventHandler>();
  /** Events a gateway's `@SubscribeMessage` takes, and which class: `handle()` cannot take them. */
  private readonly gatewayEvents = new Map<string, string>(
    Object.values(ClientEvent).map((event) => [event, 'WsGateway (built in)']),
  );
  /**
   * The gateway's own handler methods, called without Nest's per-frame pipeline; set only when
   * the app has no global guards, interceptors, pipes or filters, so the pipeline would do
   * nothing but cost (see `WsGateway.onApplicationBootstrap`).
   */
  directHandlers: Map<string, HubDirectHandler> | undefined;
  /** Events the core itself answers (`recover`), before any gateway's. */
  readonly coreHandlers = new Map<string, HubDirectHandler>();

  constructor(
    private readonly options: ResolvedHubOptions,
    private readonly counters: HubCounters,
    private readonly sink: DispatchSink,
  ) {}

  /**
   * Handles a custom client event (`{"event": name, ...}`) next to the built-in ones. Returns
   * a function that removes the handler. The built-in event names cannot be taken.
   */
  handle<T = any>(event: string, handler: HubEventHandler<T>): () => void {
    if (typeof event !== 'string' || event.length === 0) {
      throw new RangeError(`cannot handle event ${JSON.stringify(event)}: empty`);
    }
    const owner = this.gatewayEvents.get(event);
    if (owner) {
      throw new RangeError(`cannot handle event "${event}": ${owner} handles it`);
    }
    if (this.customHandlers.has(event))
      throw new RangeError(`event "${event}" already has a handler`);
    this.customHandlers.set(event, handler as HubEventHandler);
    return () => {
      if (this.customHandlers.get(event) === handler) this.customHandlers.delete(event);
    };
  }

  /** Records the events the app's gateways on the hub take (see `adoptAppGateways`). */
  reserveGatewayEvents(events: Map<string, string>): void {
    for (const [event, owner] of events) {
      if (this.customHandlers.has(event)) {
        throw new RangeError(
          `WsHubModule: event "${event}" has two handlers, ${owner} and one given to HubService.handle()`,
        );
      }
      this.gatewayEvents.set(event, owner);
    }
  }

  /** Handles one incoming frame: limits, validation, dispatch to a gateway or custom handler. */
  handleFrame(
    client: HubClient,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void {
    client.alive = true;
    if (client.removed) return;
    const limit = this.options.rateLimit;
    if (limit && !takeToken(client, limit, performance.now())) {
      this.counters.count(this.counters.frames, INVALID_FRAME);
      client.rateViolations ??= new WindowCounter(VIOLATION_WINDOW_MS);
      if (client.rateViolations.hit() > limit.maxViolations) {
        this.sink.closeClient(
          client,
          CloseCode.POLICY_VIOLATION,
          'rate limit exceeded',
          DisconnectReason.RATE_LIMITED,
        );
      } else {
        this.sendError(client, ErrorCode.RATE_LIMITED, 'too many messages; frame not processed');
      }
      return;
    }
    if (isBinary) {
      this.counters.count(this.counters.frames, INVALID_FRAME);
      this.rejectFrame(
        client,
        ErrorCode.BINARY_UNSUPPORTED,
        'binary frames are not supported',
        undefined,
      );
      return;
    }
    const text = Buffer.isBuffer(raw) ? raw.toString() : Buffer.from(raw as ArrayBuffer).toString();
    const envelope = readFrame(text);
    if (envelope instanceof FrameError) {
      this.counters.count(this.counters.frames, INVALID_FRAME);
      this.rejectFrame(client, envelope.code, envelope.message, envelope.id);
      return;
    }
    const { event, id } = envelope;
    const core = this.coreHandlers.get(event);
    if (core) {
      this.dispatch(client, undefined, core, envelope);
      return;
    }
    if (client.recovery?.awaiting) {
      this.rejectFrame(client, ErrorCode.BAD_ENVELOPE, 'the first frame must be "recover"', id);
      return;
    }
    const direct = this.directHandlers?.get(event);
    if (direct) {
      this.dispatch(client, undefined, direct, envelope);
      return;
    }
    const handler = handlers.get(event);
    if (handler) {
      this.dispatch(client, handler, undefined, envelope);
      return;
    }
    const custom = this.customHandlers.get(event);
    if (custom) {
      this.dispatch(
        client,
        undefined,
        (_client, data, ev, frameId) =>
          custom(
            {
              clientId: client.id,
              userId: client.userId,
              principal: client.principal,
              event: ev,
              id: frameId,
            },
            data,
          ),
        envelope,
      );
      return;
    }
    this.counters.count(this.counters.frames, UNHANDLED_EVENT);
    this.rejectFrame(client, ErrorCode.UNKNOWN_EVENT, `unknown event "${event}"`, id);
  }

  /** Calls a Nest-bound handler (`handler`) or one that takes the client first (`direct`). */
  private dispatch(
    client: HubClient,
    handler: HubFrameHandler | undefined,
    direct: HubDirectHandler | undefined,
    envelope: HubEnvelope,
  ): void {
    const { event, data, id } = envelope;
    this.counters.count(this.counters.frames, event);
    let result: unknown;
    try {
      result = direct ? direct(client, data, event, id) : handler!(data, event, id);
    } catch (err) {
      this.handlerFailed(client, err, id);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as Promise<unknown>).then === 'function'
    ) {
      (result as Promise<unknown>).then(
        (value) => this.reply(client, value, event, id),
        (err) => this.handlerFailed(client, err, id),
      );
    } else {
      this.reply(client, result, event, id);
    }
  }

  private reply(
    client: HubClient,
    value: unknown,
    event: string,
    id: string | number | undefined,
  ): void {
    if (value === undefined || value === null || client.removed) return;
    if (isObservable(value)) {
      // Every emission is a reply; the subscription ends with the client (or on completion).
      const subscriptions = (client.subscriptions ??= new Set());
      const subscription: Subscription = value.subscribe({
        next: (v) => this.reply(client, v, event, id),
        error: (err) => {
          subscriptions.delete(subscription);
          this.handlerFailed(client, err, id);
        },
        complete: () => subscriptions.delete(subscription),
      });
      if (!subscription.closed) subscriptions.add(subscription);
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
      this.sendError(client, ErrorCode.INTERNAL, 'reply could not be serialised', id);
      return;
    }
    this.sink.deliverText(client, text);
  }

  private handlerFailed(client: HubClient, err: unknown, id: string | number | undefined): void {
    const reply = errorReplyOf(err);
    if (reply) {
      this.sendError(client, reply.code, reply.message, id, reply.details);
      if (reply.closeCode) this.sink.closeClient(client, reply.closeCode, reply.code, reply.code);
      return;
    }
    const cause = err instanceof HubHandlerError ? err.cause : err;
    hubLogger.error(
      `handler failed for client ${client.id}: ${errorText(cause)}`,
      typeof (cause as Error)?.stack === 'string' ? (cause as Error).stack : undefined,
    );
    this.sendError(client, ErrorCode.INTERNAL, 'internal error', id);
  }

  private rejectFrame(
    client: HubClient,
    code: ErrorCode,
    message: string,
    id: string | number | undefined,
  ): void {
    client.invalidFrames ??= new WindowCounter(VIOLATION_WINDOW_MS);
    if (client.invalidFrames.hit() > this.options.maxInvalidFrames) {
      this.sink.closeClient(
        client,
        CloseCode.POLICY_VIOLATION,
        'too many invalid frames',
        DisconnectReason.INVALID_FRAMES,
      );
      return;
    }
    this.sendError(client, code, message, id);
  }

  private sendError(
    client: HubClient,
    code: string,
    message: string,
    id?: string | number,
    details?: unknown,
  ): void {
    this.counters.count(this.counters.errors, code);
    this.sink.deliverText(client, encodeError(code, message, id, details));
  }
}
