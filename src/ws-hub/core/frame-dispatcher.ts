import type { HubPrincipal } from '../interfaces/options.interface.js';
import { VIOLATION_WINDOW_MS } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { ClientEvent, CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import { FrameError, readFrame, type HubEnvelope } from '../protocol/envelope.js';
import type { Connection } from './connection.js';
import { HubCounters, INVALID_FRAME, UNHANDLED_EVENT } from './hub-counters.js';
import { Replies } from './replies.js';
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
  client: Connection,
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

export type { DispatchSink } from './replies.js';
import type { DispatchSink } from './replies.js';

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
  private readonly replies: Replies;

  constructor(
    private readonly options: ResolvedHubOptions,
    private readonly counters: HubCounters,
    private readonly sink: DispatchSink,
    /** Events the delivery strategy answers itself (`recover`), before any other. */
    private readonly strategyRoutes: ReadonlyMap<string, HubDirectHandler> = new Map(),
  ) {
    this.replies = new Replies(options, counters, sink);
  }

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
    client: Connection,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void {
    client.alive = true;
    if (client.removed || client.receiver?.hold(client, raw, isBinary)) return;
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
        this.replies.error(
          client,
          ErrorCode.RATE_LIMITED,
          'too many messages; frame not processed',
        );
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
    const own = this.strategyRoutes.get(event);
    if (own) {
      this.dispatch(client, undefined, own, envelope);
      return;
    }
    const first = client.receiver?.firstFrame;
    if (first !== undefined) {
      this.rejectFrame(client, ErrorCode.BAD_ENVELOPE, `the first frame must be "${first}"`, id);
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
    client: Connection,
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
      this.replies.failed(client, err, id);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as Promise<unknown>).then === 'function'
    ) {
      // Promise.resolve adopts any thenable (one whose `then` throws becomes a rejection), and
      // every path ends in a handler: nothing a handler returns can leave a rejection unhandled.
      Promise.resolve(result)
        .then(
          (value) => this.replies.send(client, value, event, id),
          (err: unknown) => this.replies.failed(client, err, id),
        )
        .catch((err: unknown) => this.replies.lastResort(client, err));
    } else {
      this.replies.send(client, result, event, id);
    }
  }

  private rejectFrame(
    client: Connection,
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
    this.replies.error(client, code, message, id);
  }
}
