import type { Provider } from '@nestjs/common';
import type { HubCore } from '../core/hub-core.js';
import { loadOptionalPeer } from '../util/optional-peer.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import type { PromClient } from '../metrics/metric-set.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS } from '../core/tokens.js';

/** Loads `prom-client` (an optional peer) only when the metrics are on, with an install hint. */
async function loadPromClient(): Promise<PromClient> {
  const mod = await loadOptionalPeer<PromClient & { default?: PromClient }>(
    'prom-client',
    'the "metrics" option',
  );
  return mod.Counter ? mod : (mod.default as PromClient);
}

/** `HubMetrics` when the `metrics` option is on, else null (inject it with `@Optional()`). */
export const metricsProvider: Provider = {
  provide: HubMetrics,
  useFactory: async (hub: HubCore, options: ResolvedHubOptions): Promise<HubMetrics | null> => {
    if (!options.metrics) return null;
    const prom = await loadPromClient();
    const metrics = new HubMetrics(
      hub,
      prom,
      options.metrics.registry ?? prom.register,
      options.metrics.prefix,
      options.metrics.eventLoopDelay,
    );
    return metrics;
  },
  inject: [WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS],
};
