import { Provider, Type } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { HubAdapter, HubAdapterFactory } from '../interfaces/cluster-adapter.interface.js';
import {
  WS_HUB_ADAPTER,
  WS_HUB_CORE,
  WS_HUB_MODULE_OPTIONS,
  WS_HUB_RESOLVED_OPTIONS,
} from '../core/tokens.js';
import { composeHub } from './compose-hub.js';
import { WsGateway } from '../gateway/ws.gateway.js';
import type { WsHubModuleOptions } from '../interfaces/options.interface.js';
import { resolveHubOptions, type ResolvedHubOptions } from '../options/resolve-options.js';
import { WsHubSocketAdapter } from '../socket/ws-hub-socket.adapter.js';
import { InMemoryHubAdapter } from '../cluster/in-memory.adapter.js';
import { redisAdapterFactory } from '../redis/factory.js';

/** Internal token of the provider that installs the socket adapter. */
const WS_HUB_SOCKET_ADAPTER_INSTALLER = 'WS_HUB:SOCKET_ADAPTER_INSTALLER';

export const resolvedOptionsProvider: Provider = {
  provide: WS_HUB_RESOLVED_OPTIONS,
  useFactory: (options: WsHubModuleOptions) => resolveHubOptions(options),
  inject: [WS_HUB_MODULE_OPTIONS],
};

/** The hub's object graph, composed once from the options and the adapter. */
export const coreProvider: Provider = {
  provide: WS_HUB_CORE,
  useFactory: (options: ResolvedHubOptions, adapter: HubAdapter) => composeHub(options, adapter),
  inject: [WS_HUB_RESOLVED_OPTIONS, WS_HUB_ADAPTER],
};

/**
 * Where the adapter comes from, in one place: the `adapter` option (an instance, or a
 * `{ useFactory }` run once here), the `redis` option (sugar for the Redis adapter's factory),
 * else the in-memory adapter (one instance).
 */
export function adapterFactoryOf(options: ResolvedHubOptions): HubAdapterFactory {
  const given = options.adapter;
  if (given) return 'useFactory' in given ? given : { useFactory: () => given };
  if (options.redis) return redisAdapterFactory(options.redis);
  return { useFactory: () => new InMemoryHubAdapter() };
}

/** The hub's cross-instance adapter (`WS_HUB_ADAPTER`), built by its factory. */
export const adapterProvider: Provider = {
  provide: WS_HUB_ADAPTER,
  useFactory: (options: ResolvedHubOptions): Promise<HubAdapter> | HubAdapter =>
    adapterFactoryOf(options).useFactory(),
  inject: [WS_HUB_RESOLVED_OPTIONS],
};

/**
 * Installs `WsHubSocketAdapter` when the app has no WebSocket adapter yet, so importing the
 * module is all it takes. Runs while providers are built, before Nest connects gateways.
 */
export const socketAdapterInstaller: Provider = {
  provide: WS_HUB_SOCKET_ADAPTER_INSTALLER,
  useFactory: (config: ApplicationConfig, host: HttpAdapterHost) => {
    if (!config.getIoAdapter()) {
      config.setIoAdapter(
        new WsHubSocketAdapter(undefined, () => host.httpAdapter?.getHttpServer()),
      );
    }
    return true;
  },
  inject: [ApplicationConfig, HttpAdapterHost],
};

/** A gateway class of its own for each registration (see `WsGateway`'s constructor). */
export function createGatewayClass(): Type<WsGateway> {
  class RegisteredWsGateway extends WsGateway {}
  Object.defineProperty(RegisteredWsGateway, 'name', { value: 'WsGateway' });
  return RegisteredWsGateway;
}
