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
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Subscription } from 'rxjs';
import type { ServerOptions, WebSocket } from 'ws';
import { kConnectionGate } from '../socket/connection-gate.js';
import type { GatewayRole } from '../core/hub-core.js';
import { hubLogger } from '../util/logger.js';
import { WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS } from '../core/tokens.js';
import { DEFAULT_PATH } from '../options/defaults.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { errorText } from '../util/error-text.js';
import { CloseCode } from '../protocol/constants.js';
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
  findAppGateways,
  handlersOf,
  instancesOf,
  otherGatewayWarning,
} from './app-gateways.js';
import { addBuiltInMethods, builtInRoutes, type BuiltInContext } from './built-in-events.js';
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
 * built-in client events are answered by their handlers in `built-in-events.ts`, declared in
 * the hub's route table here and given to Nest as generated `@SubscribeMessage` methods.
 * `@WebSocketGateway` options are static, so the constructor rewrites them from the module
 * options before Nest reads them in `app.init()`; that is how `forRootAsync` can set the path
 * and the ws server options.
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

  /** @internal Built by Nest: the hub's object graph is not part of the API. */
  constructor(
    @Inject(WS_HUB_CORE) private readonly hub: GatewayRole,
    @Inject(WS_HUB_RESOLVED_OPTIONS) private readonly options: ResolvedHubOptions,
    @Inject(ApplicationConfig) private readonly appConfig: ApplicationConfig,
    @Inject(ModulesContainer) modules: ModulesContainer,
  ) {
    const handshake = new HubHandshake(hub, options);
    this.refresher = new TokenRefresh(hub, options);
    this.builtIns = { hub, refresher: this.refresher };
    // The app's gateways on the hub's endpoint share its ws server options and its one
    // route table; an event taken twice (a built-in one included) fails here, at startup.
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
    hub.routes.declareBuiltIns(builtInRoutes(WsGateway.name, this.builtIns));
    hub.routes.addGateways(appGateways.flatMap((t) => handlersOf(t as Type)));
    for (const type of appGateways) adoptGateway(type, serverOptions);
    // The app's gateways see a connection once the hub announced it (after its welcome).
    this.announced = hub.connected$.subscribe(({ clientId }) => {
      const socket = hub.socketOf(clientId) as GatedSocket | undefined;
      socket?.[kConnectionGate]?.open();
    });
  }

  private readonly announced: Subscription;
  private readonly refresher: TokenRefresh;
  /** What the built-in events' handlers use (see `built-in-events.ts`). */
  private readonly builtIns: BuiltInContext;

  static {
    addBuiltInMethods(this, (gateway) => (gateway as WsGateway).builtIns);
  }

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
    // either, the pipeline cannot change anything and the built-in events' handlers are called
    // directly. With any global enhancer, every frame goes through Nest as usual.
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
    this.hub.routes.useBuiltInsDirectly(!enhanced);
  }

  /** Nest's connection hook: registers the socket (typed as `ws` gives it; the adapter marked it). */
  handleConnection(ws: WebSocket, request?: IncomingMessage): void {
    const socket = ws as GatedSocket;
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

  /** Nest's disconnection hook: unregisters the socket. */
  handleDisconnect(ws: WebSocket, code?: number | string): void {
    const socket = ws as GatedSocket;
    try {
      this.hub.unregister(socket, typeof code === 'number' ? code : undefined);
    } catch (err) {
      hubLogger.error(`unregistering a client failed: ${errorText(err)}`, (err as Error)?.stack);
    }
  }
}
