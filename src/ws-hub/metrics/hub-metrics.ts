import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { HubCore } from '../core/hub-core.js';
import type { HubMetricsRegistry } from '../interfaces/options.interface.js';

/** The parts of `prom-client` this exporter uses (it is an optional peer, loaded at startup). */
export interface PromClient {
  Counter: new (config: object) => PromMetric;
  Gauge: new (config: object) => PromMetric;
  Histogram: new (config: object) => PromMetric & { observe(labels: object, value: number): void };
  register: HubMetricsRegistry;
}

interface PromMetric {
  reset(): void;
  inc(labels: object, value?: number): void;
  set(labels: object, value: number): void;
}

/** Broadcast fan-out buckets, in seconds: 50 µs (a few clients) to 1 s (a huge room on a busy loop). */
const FANOUT_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
/** Resolution of the event-loop delay monitor, in milliseconds. */
const LOOP_RESOLUTION_MS = 20;

/** What the Redis adapter's `stats()` reports, as far as the metrics read it. */
interface AdapterStats {
  connected?: boolean;
  publishFailures?: number;
  published?: number;
  subscriptions?: number;
  presenceAgeMs?: number;
}

/**
 * Prometheus metrics of one hub, on the app's `prom-client` registry or a given one. Every value
 * is read from the hub's plain counters when the registry is scraped (`collect`), so the hot
 * paths pay a property increment, never a prom-client call; only the broadcast histogram is
 * observed as it happens (once per broadcast, not per delivery).
 */
export class HubMetrics {
  /** Metric names registered, so that shutdown removes exactly these. */
  private readonly names: string[] = [];
  private readonly loop: IntervalHistogram | undefined;

  constructor(
    private readonly core: HubCore,
    private readonly prom: PromClient,
    readonly registry: HubMetricsRegistry,
    readonly prefix: string,
    eventLoopDelay: boolean,
  ) {
    const instance = core.instanceId;
    const c = core.counters;
    const stats = (): AdapterStats => (core.link.stats() ?? {}) as AdapterStats;

    this.gauge('connections', 'Open WebSocket connections on this instance.', [], (g) =>
      g.set({ instance }, core.online),
    );
    this.counter('connections_opened_total', 'Connections accepted and registered.', [], (m) =>
      m.inc({ instance }, c.connectionsOpened),
    );
    this.counter('connections_closed_total', 'Connections closed, by reason.', ['reason'], (m) => {
      for (const [reason, n] of c.closed) m.inc({ instance, reason }, n);
    });
    this.counter(
      'handshakes_rejected_total',
      'Handshakes refused, by HTTP status (or 4401/4403 close code with authFailure "close").',
      ['status'],
      (m) => {
        for (const [status, n] of Object.entries(c.rejected)) m.inc({ instance, status }, n);
      },
    );
    this.counter(
      'frames_received_total',
      'Frames received, by the event of the handler that took them ("unhandled", "invalid" otherwise).',
      ['event'],
      (m) => {
        for (const [event, n] of c.frames) m.inc({ instance, event }, n);
      },
    );
    this.counter('errors_total', 'Error frames sent to clients, by code.', ['code'], (m) => {
      for (const [code, n] of c.errors) m.inc({ instance, code }, n);
    });
    this.counter('messages_delivered_total', 'Messages written to client sockets.', [], (m) =>
      m.inc({ instance }, c.delivered),
    );
    this.counter(
      'messages_dropped_total',
      'Messages skipped for clients over maxBufferedBytes (slowConsumer "drop").',
      [],
      (m) => m.inc({ instance }, c.dropped),
    );
    this.counter(
      'slow_consumers_closed_total',
      'Clients closed with 1013 for reading too slowly (slowConsumer "close").',
      [],
      (m) => m.inc({ instance }, c.slowClosed),
    );
    this.counter('heartbeat_evictions_total', 'Clients cut for missing pongs.', [], (m) =>
      m.inc({ instance }, c.evictions),
    );
    this.gauge(
      'buffered_bytes',
      'Bytes queued in client sockets, not yet written to the network.',
      [],
      (g) => {
        let bytes = 0;
        for (const client of core.registry.list) bytes += client.socket.bufferedAmount;
        g.set({ instance }, bytes);
      },
    );
    this.gauge('rooms', 'Rooms with at least one member on this instance.', [], (g) =>
      g.set({ instance }, core.rooms.count),
    );
    this.gauge('users', 'Distinct authenticated users connected to this instance.', [], (g) =>
      g.set({ instance }, core.registry.userCount),
    );
    const fanout = this.histogram(
      'broadcast_fanout_seconds',
      "Time to write one broadcast to this instance's recipients.",
    );
    core.delivery.onBroadcastTimed = (ms) => fanout.observe({ instance }, ms / 1000);

    if (core.link.distributed) {
      this.gauge(
        'adapter_connected',
        'Whether the cluster adapter is connected (1) or not (0).',
        [],
        (g) => g.set({ instance }, stats().connected === false ? 0 : 1),
      );
      this.counter(
        'adapter_publish_failures_total',
        'Messages the adapter could not publish.',
        [],
        (m) => m.inc({ instance }, stats().publishFailures ?? 0),
      );
      this.gauge('adapter_subscriptions', 'Channels the adapter is subscribed to.', [], (g) =>
        g.set({ instance }, stats().subscriptions ?? 0),
      );
      this.gauge(
        'adapter_presence_age_seconds',
        "Seconds since this instance's presence was last refreshed in the cluster store.",
        [],
        (g) => {
          const age = stats().presenceAgeMs;
          if (age !== undefined) g.set({ instance }, age / 1000);
        },
      );
    }

    if (eventLoopDelay) {
      const loop = (this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS }));
      loop.enable();
      this.gauge(
        'event_loop_delay_seconds',
        'Event-loop delay since the previous scrape, by quantile (0.5, 0.99, max).',
        ['quantile'],
        (g) => {
          if (loop.count === 0) return;
          g.set({ instance, quantile: '0.5' }, loop.percentile(50) / 1e9);
          g.set({ instance, quantile: '0.99' }, loop.percentile(99) / 1e9);
          g.set({ instance, quantile: 'max' }, loop.max / 1e9);
          loop.reset();
        },
      );
    }
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

  /** Removes this hub's metrics from the registry and stops the loop monitor. */
  dispose(): void {
    this.loop?.disable();
    this.core.delivery.onBroadcastTimed = undefined;
    for (const name of this.names.splice(0)) this.registry.removeSingleMetric(name);
  }

  private counter(name: string, help: string, labels: string[], collect: (m: PromMetric) => void) {
    this.add(this.prom.Counter, name, help, labels, function (this: PromMetric) {
      this.reset();
      collect(this);
    });
  }

  private gauge(name: string, help: string, labels: string[], collect: (m: PromMetric) => void) {
    this.add(this.prom.Gauge, name, help, labels, function (this: PromMetric) {
      collect(this);
    });
  }

  private histogram(name: string, help: string) {
    return this.add(
      this.prom.Histogram,
      name,
      help,
      [],
      undefined,
      FANOUT_BUCKETS_S,
    ) as PromMetric & {
      observe(labels: object, value: number): void;
    };
  }

  private add(
    type: new (config: object) => PromMetric,
    name: string,
    help: string,
    labels: string[],
    collect: (() => void) | undefined,
    buckets?: number[],
  ): PromMetric {
    const fullName = this.prefix + name;
    const metric = new type({
      name: fullName,
      help,
      labelNames: ['instance', ...labels],
      registers: [this.registry],
      ...(collect ? { collect } : {}),
      ...(buckets ? { buckets } : {}),
    });
    this.names.push(fullName);
    return metric;
  }
}
