import type { Provider } from '@nestjs/common';
import { HubService } from '../core/hub.service.js';
import { HubMetrics, type PromClient } from '../metrics/hub-metrics.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { WS_HUB_RESOLVED_OPTIONS } from './tokens.js';

/** Loads `prom-client` (an optional peer) only when the metrics are on, with an install hint. */
async function loadPromClient(): Promise<PromClient> {
  try {
    const mod = (await import('prom-client')) as unknown as PromClient & { default?: PromClient };
    return mod.Counter ? mod : (mod.default as PromClient);
  } catch (err) {
    if ((err as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        'WsHubModule: option "metrics" needs the optional peer dependency prom-client: npm install prom-client',
      );
    }
    throw err;
  }
}

/** `HubMetrics` when the `metrics` option is on, else null (inject it with `@Optional()`). */
export const metricsProvider: Provider = {
  provide: HubMetrics,
  useFactory: async (hub: HubService, options: ResolvedHubOptions): Promise<HubMetrics | null> => {
    if (!options.metrics) return null;
    const prom = await loadPromClient();
    const metrics = new HubMetrics(
      hub.core,
      prom,
      options.metrics.registry ?? prom.register,
      options.metrics.prefix,
      options.metrics.eventLoopDelay,
    );
    return metrics;
  },
  inject: [HubService, WS_HUB_RESOLVED_OPTIONS],
};
