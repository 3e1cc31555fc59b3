import type { IncomingMessage } from 'node:http';
import {
  Inject,
  OnApplicationBootstrap,
  OnModuleDestroy,
  UseFilters,
  type Type,
} from '@nestjs/common';
import { ApplicationConfig, ModulesContainer } from '@nestjs/core';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Subscription } from 'rxjs';
import type { ServerOptions } from 'ws';
import { kConnectionGate } from '../socket/connection-gate.js';
import type { HubDirectHandler } from '../core/frame-dispatcher.js';
import { kConnection, type Connection } from '../core/connection.js';
import type { GatewayRole } from '../core/hub-core.js';
import { FrameId } from '../decorators/frame-id.decorator.js';
import { hubLogger } from '../util/logger.js';
import { WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS } from '../core/tokens.js';
import { DEFAULT_PATH } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { errorText } from '../util/error-text.js';
import { ClientEvent, CloseCode, ServerEvent } from '../protocol/constants.js';
import {
  kBeforeConnect,
  kFrameSink,
  kHubServer,
  kHubEndpoint,
  type GatedSocket,
} from '../socket/ws-hub-socket.adapter.js';
import {
  adoptGateway,
  deferInstanceHooks,
  eventOwners,
  findAppGateways,
  handlersOf,
  instancesOf,
  otherGatewayWarning,
} from './app-gateways.js';
import { HubExceptionFilter } from './exception.filter.js';
import { TokenRefresh } from './token-refresh.js';
import {
  clientIpOf,
  closeIfRefused,
  HubHandshake,
  kHandshake,
  type AcceptedRequest,
} from './handshake.js';

/**
 * The hub's gateway. Everything it does is delegated to the hub (its `GatewayRole`); the
 * decorators only wire the protocol's client events. `@WebSocketGateway` options are static, so the constructor
 * rewrites them from the module options before Nest reads them in `app.init()`; that is how
 * `forRootAsync` can set the path and the ws server options.
 */
@WebSocketGateway<ServerOptions>({ path: DEFAULT_PATH })
@UseFilters(HubExceptionFilter)
export class WsGateway
  implements
    OnGatewayInit,
    OnGatewayConnection,
    OnGatewayDisconnect,
    OnApplicationBootstrap,
    OnModuleDestroy
{
  private serverSeen = false;
  private foreignServer = false;

  constructor(
    @Inject(WS_HUB_CORE) private readonly hub: GatewayRole,
    @Inject(WS_HUB_RESOLVED_OPTIONS) private readonly options: ResolvedHubOptions,
    @Inject(ApplicationConfig) private readonly appConfig: ApplicationConfig,
    @Inject(ModulesContainer) modules: ModulesContainer,
  ) {
    const handshake = new HubHandshake(hub, options);
    this.refresher = new TokenRefresh(hub, options);
    // The app's gateways on the hub's endpoint share its ws server options and its one
    // dispatcher; an event taken twice (a built-in one included) fails here, at startup.
    const found = findAppGateways(
      modules,
      options.path,
      (t) => t.prototype instanceof WsGateway || t === WsGateway,
    );
    const appGateways = found.onHub;
    for (const other of found.others) hubLogger.warn(otherGatewayWarning(other, options.path));
    const serverOptions: ServerOptions & {
      path: string;
      [kHubEndpoint]: true;
      [kBeforeConnect]: () => void;
    } = {
      [kHubEndpoint]: true,
      // Hooks written as arrow-function properties exist once the instances do.
      [kBeforeConnect]: () => {
        for (const type of appGateways) {
          for (const instance of instancesOf(modules, type)) deferInstanceHooks(instance);
        }
      },
      path: options.path,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: options.perMessageDeflate,
      ...handshake.serverOptions(),
    };
    // Each registration gets its own subclass (see WsHubModule), so apps built side by side in
    // one process never see each other's options. Applying Nest's own decorator again, now
    // with the resolved options, overwrites the static ones before Nest reads them.
    WebSocketGateway<ServerOptions>(serverOptions)(new.target);
    const owners = eventOwners([
      { event: ClientEvent.RECOVER, owner: 'ws-hub recovery (built in)' },
      ...[WsGateway, ...appGateways].flatMap((t) => handlersOf(t as Type)),
    ]);
    for (const type of appGateways) adoptGateway(type, serverOptions);
    hub.reserveGatewayEvents(owners);
    // The app's gateways see a connection once the hub announced it (after its welcome).
    this.announced = hub.connected$.subscribe(({ clientId }) => {
      const socket = hub.socketOf(clientId) as GatedSocket | undefined;
      socket?.[kConnectionGate]?.open();
    });
  }

  private readonly announced: Subscription;
  private readonly refresher: TokenRefresh;

  onModuleDestroy(): void {
    this.announced.unsubscribe();
  }

  afterInit(server: unknown): void {
    this.serverSeen = true;
    this.foreignServer = !(server as Record<symbol, unknown>)?.[kHubServer];
  }

  onApplicationBootstrap(): void {
    if (this.serverSeen && this.foreignServer) {
      throw new Error(
        'WsHubModule: the app uses a WebSocket adapter other than WsHubSocketAdapter, which would ' +
          'drop invalid frames silently. Remove app.useWebSocketAdapter(new WsAdapter(app)) or pass ' +
          'new WsHubSocketAdapter(app) instead.',
      );
    }
    // Nest applies no global prefix to gateways: `setGlobalPrefix('api')` leaves the hub at its
    // path (an upgrade on /api/ws is answered 404), which is worth saying once.
    const prefix = this.appConfig.getGlobalPrefix();
    if (
      prefix &&
      prefix !== '/' &&
      !this.options.path.startsWith('/' + prefix.replace(/^\/+/, ''))
    ) {
      hubLogger.log(
        `the global prefix "${prefix}" does not apply to WebSocket gateways: the hub is at ` +
          `"${this.options.path}" (set path: "/${prefix.replace(/^\/+|\/+$/g, '')}${this.options.path}" to put it under the prefix)`,
      );
    }
    // Nest runs every frame through its context pipeline (guards, interceptors, pipes, filters,
    // several promises per frame) even when there is nothing in it: a measured share of the
    // per-ack cost. This gateway declares none of its own, so when the app has no global ones
    // either, the pipeline cannot change anything and the handlers are called directly. With
    // any global enhancer, every frame goes through Nest as usual.
    const c = this.appConfig;
    const enhanced =
      c.getGlobalGuards().length +
      c.getGlobalInterceptors().length +
      c.getGlobalPipes().length +
      c.getGlobalFilters().length +
      c.getGlobalRequestGuards().length +
      c.getGlobalRequestInterceptors().length +
      c.getGlobalRequestPipes().length +
      c.getGlobalRequestFilters().length;
    this.hub.useDirectHandlers(
      enhanced
        ? undefined
        : new Map<string, HubDirectHandler>([
            [ClientEvent.MESSAGE, (client, data, _event, id) => this.hub.ack(client, data, id)],
            [ClientEvent.PING, () => this.onPing()],
            [ClientEvent.JOIN, (client, data) => this.join(client, data)],
            [ClientEvent.LEAVE, (client, data) => this.leave(client, data)],
            [ClientEvent.REFRESH, (client, data) => this.refresher.refresh(client, data)],
          ]),
    );
  }

  handleConnection(socket: GatedSocket, request?: IncomingMessage): void {
    // In Nest 12.1 an exception here becomes an uncaughtException: nothing may escape.
    try {
      if (closeIfRefused(socket, request)) return;
      socket[kFrameSink] = this.hub;
      const accepted = (request as AcceptedRequest | undefined)?.[kHandshake];
      const client = this.hub.register(socket, {
        // The handshake read the IP if anything needed it; without a handshake (an app's own
        // adapter), read it now.
        ip: accepted
          ? accepted.ip
          : request
            ? clientIpOf(request, this.options.clientIp)
            : undefined,
        principal: accepted?.principal,
        protocol: socket.protocol,
      });
      this.refresher.remember(client, request);
    } catch (err) {
      hubLogger.error(`registering a client failed: ${errorText(err)}`, (err as Error)?.stack);
      try {
        socket.close(CloseCode.INTERNAL_ERROR, 'internal error');
      } catch {
        socket.terminate();
      }
    }
  }

  handleDisconnect(socket: GatedSocket, code?: number | string): void {
    try {
      this.hub.unregister(socket, typeof code === 'number' ? code : undefined);
    } catch (err) {
      hubLogger.error(`unregistering a client failed: ${errorText(err)}`, (err as Error)?.stack);
    }
  }

  /** Echo acknowledgement: `{"event":"message","id":7,"data":X}` gets `{"event":"ack","id":7,"data":X}`. */
  @SubscribeMessage(ClientEvent.MESSAGE)
  onMessage(
    @ConnectedSocket() socket: GatedSocket,
    @MessageBody() data: unknown,
    @FrameId() id?: string | number,
  ) {
    const client = socket[kConnection];
    if (client) this.hub.emitMessage(client, ClientEvent.MESSAGE, data, id);
    return { event: ServerEvent.ACK, data };
  }

  /** Application-level ping for browsers, which cannot see protocol pings. */
  @SubscribeMessage(ClientEvent.PING)
  onPing() {
    return { event: ServerEvent.PONG, data: { ts: Date.now() } };
  }

  @SubscribeMessage(ClientEvent.JOIN)
  onJoin(@ConnectedSocket() socket: GatedSocket, @MessageBody() data: unknown) {
    return this.join(socket[kConnection]!, data);
  }

  @SubscribeMessage(ClientEvent.LEAVE)
  onLeave(@ConnectedSocket() socket: GatedSocket, @MessageBody() data: unknown) {
    return this.leave(socket[kConnection]!, data);
  }

  /** `refresh` → `refreshed` (a new token for the open connection; see `TokenRefresh`). */
  @SubscribeMessage(ClientEvent.REFRESH)
  onRefresh(@ConnectedSocket() socket: GatedSocket, @MessageBody() data: unknown) {
    return this.refresher.refresh(socket[kConnection]!, data);
  }

  /** `join` → `joined` (with where a recovering client starts in the room's stream). */
  private async join(client: Connection, data: unknown) {
    const joined = await this.hub.join(client, (data as { room?: unknown } | undefined)?.room);
    return { event: ServerEvent.JOINED, data: joined };
  }

  /** `leave` → `left`, after the client's pending join of the room if any. */
  private leave(client: Connection, data: unknown) {
    const left = this.hub.leave(client, (data as { room?: unknown } | undefined)?.room);
    return left instanceof Promise
      ? left.then((d) => ({ event: ServerEvent.LEFT, data: d }))
      : { event: ServerEvent.LEFT, data: left };
  }
}
