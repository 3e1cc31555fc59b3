import { VIOLATION_WINDOW_MS } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { CloseCode, DisconnectReason, ErrorCode } from '../protocol/constants.js';
import { FrameError, readFrame, type HubEnvelope } from '../protocol/envelope.js';
import type { Connection } from './connection.js';
import { HubCounters, INVALID_FRAME, UNHANDLED_EVENT } from './hub-counters.js';
import { Replies, type DispatchSink } from './replies.js';
import { takeToken } from './rate-limit.js';
import { WindowCounter } from './window-counter.js';
import {
  RouteTable,
  RouteTier,
  type HubDirectHandler,
  type HubFrameHandler,
} from './route-table.js';

/**
 * Everything between a frame arriving and its reply leaving: rate limit, validation, error
 * frames, the lookup of its event in the route table (`RouteTable`, the one place that says
 * who answers which event, in which order), the handler call and the reply, which always
 * carries the frame's id. Nothing a client sends can make it throw.
 */
export class HubFrameDispatcher {
  /** Who answers which client event: built-ins, the app's gateways, `HubService.handle()`. */
  readonly routes: RouteTable;
  private readonly replies: Replies;

  constructor(
    private readonly options: ResolvedHubOptions,
    private readonly counters: HubCounters,
    private readonly sink: DispatchSink,
    /** Events the delivery strategy answers itself (`recover`), before any other. */
    strategyRoutes: ReadonlyMap<string, HubDirectHandler> = new Map(),
  ) {
    this.routes = new RouteTable(strategyRoutes);
    this.replies = new Replies(options, counters, sink);
  }

  /**
   * Handles one incoming frame: limits, validation, dispatch by the route table. `handlers`
   * are the socket's Nest-bound gateway handlers (see `WsHubSocketAdapter`).
   */
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
    // The route table's order (see `RouteTable`): each event has one owner, so at most one
    // of these answers; the order keeps the cheapest lookups first.
    const route = this.routes.get(event);
    if (route?.opening && route.run) {
      this.dispatch(client, undefined, route.run, envelope);
      return;
    }
    const first = client.receiver?.firstFrame;
    if (first !== undefined) {
      this.rejectFrame(client, ErrorCode.BAD_ENVELOPE, `the first frame must be "${first}"`, id);
      return;
    }
    const run = route?.run;
    // 1. A built-in event on the fast path (no global enhancers): its handler, client first.
    if (run !== undefined && route!.tier === RouteTier.BUILT_IN) {
      this.dispatch(client, undefined, run, envelope);
      return;
    }
    // 2. The socket's Nest-bound handler: an app gateway's (or a built-in one, through Nest).
    const bound = handlers.get(event);
    if (bound) {
      this.dispatch(client, bound, undefined, envelope);
      return;
    }
    // 3. A `HubService.handle()` handler.
    if (run !== undefined) {
      this.dispatch(client, undefined, run, envelope);
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
