import type { Type } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { kConnection, type Connection, type HubSocket } from '../core/connection.js';
import type { GatewayRole } from '../core/hub-core.js';
import type { BuiltInRoute } from '../core/route-table.js';
import { FrameId } from '../decorators/frame-id.decorator.js';
import { ClientEvent, ServerEvent } from '../protocol/constants.js';
import type { TokenRefresh } from './token-refresh.js';

/** What a built-in event's handler may use. */
export interface BuiltInContext {
  hub: GatewayRole;
  refresher: TokenRefresh;
}

/** A parameter of the gateway method Nest calls a built-in event through. */
type NestParam = 'socket' | 'body' | 'id';

/** One built-in client event: its handler, and how Nest's pipeline reaches it. */
interface BuiltInEvent {
  /**
   * The hub gateway's method Nest's pipeline calls it through (apps with global guards,
   * pipes, interceptors or filters), generated from this entry; messages name the event's
   * owner after it (`WsGateway.onPing`).
   */
  method: string;
  /**
   * That method's parameters, which global pipes see (none: Nest's defaults, the socket and
   * the body first), in this order.
   */
  params: readonly [] | readonly ['socket', 'body'] | readonly ['socket', 'body', 'id'];
  /** Answers the frame: the reply (or its promise); throw `HubError` for an error frame. */
  answer(
    on: BuiltInContext,
    client: Connection,
    data: unknown,
    id: string | number | undefined,
  ): unknown;
}

/** The delivery strategy answers `recover` itself (with recovery on); the gateway none. */
const RECOVER_OWNER = 'ws-hub recovery (built in)';

const roomOf = (data: unknown): unknown => (data as { room?: unknown } | undefined)?.room;

/**
 * The built-in client events, one entry each: the only place their handlers live. The
 * compiler requires an entry for every `ClientEvent` but `recover` (the delivery strategy's).
 * To add one: its name in `protocol/constants.ts`, its entry here, the client
 * (`client/`), the docs (README: wire protocol).
 */
export const BUILT_IN_EVENTS: {
  readonly [
    E in Exclude<(typeof ClientEvent)[keyof typeof ClientEvent], typeof ClientEvent.RECOVER>
  ]: BuiltInEvent;
} = {
  /** Echo acknowledgement: `{"event":"message","id":7,"data":X}` gets `{"event":"ack","id":7,"data":X}`. */
  [ClientEvent.MESSAGE]: {
    method: 'onMessage',
    params: ['socket', 'body', 'id'],
    answer: ({ hub }, client, data, id) => hub.ack(client, data, id),
  },
  /** Application-level ping for browsers, which cannot see protocol pings. */
  [ClientEvent.PING]: {
    method: 'onPing',
    params: [],
    answer: () => ({ event: ServerEvent.PONG, data: { ts: Date.now() } }),
  },
  /** `join` → `joined` (with where a recovering client starts in the room's stream). */
  [ClientEvent.JOIN]: {
    method: 'onJoin',
    params: ['socket', 'body'],
    answer: async ({ hub }, client, data) => ({
      event: ServerEvent.JOINED,
      data: await hub.join(client, roomOf(data)),
    }),
  },
  /** `leave` → `left`, after the client's pending join of the room if any. */
  [ClientEvent.LEAVE]: {
    method: 'onLeave',
    params: ['socket', 'body'],
    answer: ({ hub }, client, data) => {
      const left = hub.leave(client, roomOf(data));
      return left instanceof Promise
        ? left.then((d) => ({ event: ServerEvent.LEFT, data: d }))
        : { event: ServerEvent.LEFT, data: left };
    },
  },
  /** `refresh` → `refreshed` (a new token for the open connection; see `TokenRefresh`). */
  [ClientEvent.REFRESH]: {
    method: 'onRefresh',
    params: ['socket', 'body'],
    answer: ({ refresher }, client, data) => refresher.refresh(client, data),
  },
};

/** The built-in events as routes of the route table, with their owners as messages name them. */
export function builtInRoutes(gateway: string, on: BuiltInContext): BuiltInRoute[] {
  return [
    { event: ClientEvent.RECOVER, owner: RECOVER_OWNER },
    ...Object.entries(BUILT_IN_EVENTS).map(([event, b]: [string, BuiltInEvent]) => ({
      event,
      owner: `${gateway}.${b.method}`,
      run: (client: Connection, data: unknown, _event: string, id: string | number | undefined) =>
        b.answer(on, client, data, id),
    })),
  ];
}

const DECORATE: Record<NestParam, () => ParameterDecorator> = {
  socket: ConnectedSocket,
  body: MessageBody,
  id: FrameId,
};

/**
 * Gives the hub's gateway class one `@SubscribeMessage` method per built-in event, which Nest
 * calls through its pipeline when the app has global enhancers. With its parameters (Nest's
 * defaults when none) the socket comes first and the body second; the id third when asked.
 */
export function addBuiltInMethods(
  type: Type,
  contextOf: (gateway: object) => BuiltInContext,
): void {
  const proto = type.prototype as object;
  for (const [event, b] of Object.entries(BUILT_IN_EVENTS) as [string, BuiltInEvent][]) {
    const params: readonly NestParam[] = b.params;
    const withId = params.includes('id');
    const method = {
      [b.method](this: object, socket: HubSocket, data: unknown, id?: string | number) {
        return b.answer(contextOf(this), socket[kConnection]!, data, withId ? id : undefined);
      },
    }[b.method]!;
    Object.defineProperty(proto, b.method, {
      value: method,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    // Last to first, as TypeScript applies parameter decorators: Nest keeps its parameter
    // metadata in that order, and global pipes run over the parameters in it.
    for (let index = params.length - 1; index >= 0; index--) {
      DECORATE[params[index]]()(proto, b.method, index);
    }
    Reflect.defineMetadata('design:type', Function, proto, b.method);
    Reflect.defineMetadata(
      'design:paramtypes',
      params.map(() => Object),
      proto,
      b.method,
    );
    SubscribeMessage(event)(proto, b.method, Object.getOwnPropertyDescriptor(proto, b.method)!);
  }
}
