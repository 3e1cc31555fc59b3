import { DynamicModule, Module } from '@nestjs/common';
import { WS_HUB_RESOLVED_OPTIONS } from '../core/tokens.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './module-definition.js';
import { HubLifecycle } from './hub-lifecycle.js';
import {
  adapterProvider,
  coreProvider,
  createGatewayClass,
  resolvedOptionsProvider,
  socketAdapterInstaller,
} from './providers.js';
import { HubService } from '../core/hub.service.js';
import { HubHealthIndicator } from '../health/hub.health.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import { metricsProvider } from './metrics.providers.js';

function withHub(module: DynamicModule): DynamicModule {
  return {
    ...module,
    providers: [
      ...(module.providers ?? []),
      resolvedOptionsProvider,
      adapterProvider,
      coreProvider,
      HubLifecycle,
      socketAdapterInstaller,
      HubService,
      metricsProvider,
      HubHealthIndicator,
      createGatewayClass(),
    ],
    exports: [
      ...(module.exports ?? []),
      HubService,
      HubMetrics,
      HubHealthIndicator,
      WS_HUB_RESOLVED_OPTIONS,
    ],
  };
}

/**
 * Turns a Nest app into a WebSocket hub: import it once and `HubService` is injectable
 * everywhere (unless `isGlobal: false`), with the endpoint served on the app's HTTP port.
 */
@Module({})
export class WsHubModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return withHub(super.forRoot(options));
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withHub(super.forRootAsync(options));
  }
}
