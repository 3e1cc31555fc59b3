import type { MonitorRole } from '../core/hub-core.js';
import type { HubMetricsRegistry } from '../interfaces/options.interface.js';
import { LoopDelay } from './loop-delay.js';
import { MetricSet, type MetricsSource, type PromClient } from './metric-set.js';

/** Resolution of the event-loop delay monitor, in milliseconds. */
const LOOP_RESOLUTION_MS = 20;

/**
 * Prometheus metrics of one hub, on the app's `prom-client` registry or a given one. Every value
 * is read from the hub's plain counters when the registry is scraped, so the hot paths pay a
 * property increment, never a prom-client call; only the broadcast histogram is observed as it
 * happens (once per broadcast, not per delivery). Several hubs of one process (apps built side
 * by side, in tests) share the metrics of a registry, each with its own `instance` label.
 */
export class HubMetrics {
  private readonly set: MetricSet;
  private readonly source: MetricsSource;
  private disposed = false;

  /** @internal Built by Nest: the hub's object graph is not part of the API. */
  constructor(
    private readonly hub: MonitorRole,
    prom: PromClient,
    readonly registry: HubMetricsRegistry,
    readonly prefix: string,
    eventLoopDelay: boolean,
  ) {
    this.set = MetricSet.of(prom, registry, prefix);
    this.source = {
      instance: hub.instanceId,
      hub,
      loop: eventLoopDelay ? new LoopDelay(LOOP_RESOLUTION_MS) : undefined,
    };
    this.set.add(this.source);
    const fanout = this.set.fanout;
    const labels = { instance: hub.instanceId };
    hub.timeBroadcasts((ms) => fanout.observe(labels, ms / 1000));
  }

  /** The registry's exposition text, for an app that serves `/metrics` itself. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Nest's shutdown hook: the metrics go with the hub (an app rebuilt in-process re-registers them). */
  onApplicationShutdown(): void {
    this.dispose();
  }

  /** Stops exporting this hub's figures (the metrics leave the registry with the last hub). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.source.loop?.dispose();
    this.hub.timeBroadcasts(undefined);
    this.set.remove(this.source);
  }
}
