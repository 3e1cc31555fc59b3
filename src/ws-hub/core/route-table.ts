import { DuplicateHandlerError } from './duplicate-handler.error.js';
import type { HubEventHandler } from '../interfaces/events.interface.js';
import { ClientEvent } from '../protocol/constants.js';
import type { Connection } from './connection.js';

/** A frame's correlation id, as the envelope carries it. */
type FrameIdOf = string | number | undefined;

/** A gateway handler as Nest binds it to one socket (through its pipeline): `(data, event, id)`. */
export type HubFrameHandler = (data: unknown, event: string, id: FrameIdOf) => unknown;

/** A handler called with the client first, outside Nest's pipeline. */
export type HubDirectHandler = (
  client: Connection,
  data: unknown,
  event: string,
  id: FrameIdOf,
) => unknown;

/** The tiers of the table, in the order a frame's event is looked up. */
export const RouteTier = {
  /** The protocol's own events (`protocol/constants.ts` `ClientEvent`). */
  BUILT_IN: 'built-in',
  /** An app gateway's `@SubscribeMessage` handler (called through Nest's pipeline). */
  GATEWAY: 'gateway',
  /** A handler given to `HubService.handle()`. */
  HANDLE: 'handle',
} as const;
export type RouteTier = (typeof RouteTier)[keyof typeof RouteTier];

/** One event of the table. */
interface Route {
  readonly tier: RouteTier;
  /** Who answers it, as error messages name it (`WsGateway.onJoin`, `ChatGateway.chat`). */
  readonly owner: string;
  /**
   * Called with the client first, outside Nest's pipeline: a built-in event's handler while
   * built-ins take the fast path, an opening route, a `HubService.handle()` handler.
   * Undefined: the socket's Nest-bound handler answers (an app gateway's, or a built-in one
   * while the app has global guards, pipes, interceptors or filters).
   */
  readonly run: HubDirectHandler | undefined;
  /** Answered even before the connection's first frame (the delivery strategy's `recover`). */
  readonly opening: boolean;
}

/** One built-in event's handler, declared by the hub's gateway. */
export interface BuiltInRoute {
  event: string;
  /** As messages name it: `WsGateway.onPing`. */
  owner: string;
  /** The handler; undefined leaves the event to the delivery strategy (`recover`). */
  run?: HubDirectHandler;
}

/** An app gateway's `@SubscribeMessage` handler. */
export interface GatewayRoute {
  event: string;
  /** `ClassName.method`. */
  owner: string;
}

/** What the built-in events are called before the gateway declares its handlers. */
const BUILT_IN_OWNER = 'WsGateway (built in)';

/**
 * Every client event the hub answers, and who answers it: the one place a frame's event is
 * looked up (`HubFrameDispatcher.handleFrame`) and where every handler is registered.
 *
 * Precedence, in lookup order:
 * 0. opening routes (the delivery strategy's `recover`): answered before anything else, even
 *    while the connection must still send its first frame (every other event is refused then);
 * 1. built-in events (`ClientEvent`): their names are reserved from the start; the hub's
 *    gateway declares one handler each (`gateway/built-in-events.ts`), called directly (the
 *    fast path) when the app has no global enhancers, else through Nest's pipeline;
 * 2. the app gateways' `@SubscribeMessage` handlers, which Nest binds to each socket (the
 *    socket adapter hands them over with the frame);
 * 3. `HubService.handle()` handlers;
 * 4. nothing: `UNKNOWN_EVENT`.
 *
 * Each event has one owner: a gateway taking a built-in or another gateway's event fails at
 * startup with `DuplicateHandlerError`, `handle()` refuses an event a built-in or a gateway
 * takes, and a gateway taking an event given to `handle()` fails at startup.
 */
export class RouteTable {
  private readonly routes = new Map<string, Route>();
  /** Built-in events skip Nest's pipeline (the app has no global enhancers). */
  private builtInsDirect = false;
  /** The built-in events' handlers, for when they take the fast path. */
  private readonly builtInRuns = new Map<string, HubDirectHandler>();

  constructor(
    /** Events the delivery strategy answers itself (`recover`), before any other. */
    opening: ReadonlyMap<string, HubDirectHandler> = new Map(),
  ) {
    for (const event of Object.values(ClientEvent)) this.set(event, RouteTier.BUILT_IN);
    for (const [event, run] of opening) {
      this.routes.set(event, {
        tier: RouteTier.BUILT_IN,
        owner: BUILT_IN_OWNER,
        run,
        opening: true,
      });
    }
  }

  /** The route of an event, if any tier but the socket's Nest bindings takes it. */
  get(event: string): Route | undefined {
    return this.routes.get(event);
  }

  /**
   * The hub gateway's handlers of the built-in events (at its construction): their owners, as
   * messages name them, and their handlers for the fast path. Built-in names only.
   */
  declareBuiltIns(builtIns: readonly BuiltInRoute[]): void {
    for (const { event, owner, run } of builtIns) {
      const route = this.routes.get(event);
      if (route?.tier !== RouteTier.BUILT_IN) {
        throw new RangeError(`"${event}" is not a built-in event (protocol/constants.ts)`);
      }
      if (run) this.builtInRuns.set(event, run);
      this.routes.set(event, { ...route, owner });
    }
    this.refreshBuiltIns();
  }

  /**
   * Whether the built-in events skip Nest's per-frame pipeline: true only when the app has no
   * global guards, interceptors, pipes or filters, so the pipeline would do nothing but cost
   * (see `WsGateway.onApplicationBootstrap`). Until then they go through Nest.
   */
  useBuiltInsDirectly(direct: boolean): void {
    this.builtInsDirect = direct;
    this.refreshBuiltIns();
  }

  /**
   * The app gateways' handlers on the hub (at startup). Throws `DuplicateHandlerError` naming
   * both when an event is taken twice (a built-in one included), checked for every handler
   * before the `RangeError` for an event given to `HubService.handle()`; adds nothing then.
   */
  addGateways(handlers: readonly GatewayRoute[]): void {
    const taken = new Map<string, string>();
    for (const { event, owner } of handlers) {
      const route = this.routes.get(event);
      const first =
        taken.get(event) ?? (route && route.tier !== RouteTier.HANDLE ? route.owner : undefined);
      if (first !== undefined) throw new DuplicateHandlerError(event, first, owner);
      taken.set(event, owner);
    }
    for (const [event, owner] of taken) {
      if (this.routes.get(event)?.tier === RouteTier.HANDLE) {
        throw new RangeError(
          `WsHubModule: event "${event}" has two handlers, ${owner} and one given to HubService.handle()`,
        );
      }
    }
    for (const [event, owner] of taken) this.set(event, RouteTier.GATEWAY, owner);
  }

  /**
   * `HubService.handle()`: a custom client event's handler. Returns a function that removes
   * it. Events a built-in or a gateway takes, and events that have one already, are refused.
   */
  handle<T = any>(event: string, handler: HubEventHandler<T>): () => void {
    if (typeof event !== 'string' || event.length === 0) {
      throw new RangeError(`cannot handle event ${JSON.stringify(event)}: empty`);
    }
    const route = this.routes.get(event);
    if (route?.tier === RouteTier.HANDLE) {
      throw new RangeError(`event "${event}" already has a handler`);
    }
    if (route) throw new RangeError(`cannot handle event "${event}": ${route.owner} handles it`);
    const added: Route = {
      tier: RouteTier.HANDLE,
      owner: 'HubService.handle()',
      run: (client, data, ev, id) =>
        handler(
          {
            clientId: client.id,
            userId: client.userId,
            principal: client.principal,
            event: ev,
            id,
          },
          data as T,
        ),
      opening: false,
    };
    this.routes.set(event, added);
    return () => {
      if (this.routes.get(event) === added) this.routes.delete(event);
    };
  }

  private set(event: string, tier: RouteTier, owner = BUILT_IN_OWNER): void {
    this.routes.set(event, { tier, owner, run: undefined, opening: false });
  }

  /** Points the built-in routes at their handlers (fast path) or at Nest's bindings. */
  private refreshBuiltIns(): void {
    for (const [event, run] of this.builtInRuns) {
      const route = this.routes.get(event)!;
      this.routes.set(event, { ...route, run: this.builtInsDirect ? run : undefined });
    }
  }
}
