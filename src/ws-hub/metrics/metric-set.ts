import type { MonitorRole } from '../core/hub-core.js';
import type { HubAdapterStats } from '../interfaces/cluster-adapter.interface.js';
import type { HubMetricsRegistry } from '../interfaces/options.interface.js';
import { WsHubOptionsError } from '../options/options.error.js';
import type { LoopDelay } from './loop-delay.js';

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

type PromHistogram = PromMetric & { observe(labels: object, value: number): void };

/** One hub whose figures a metric set exports, under its own `instance` label. */
export interface MetricsSource {
  readonly instance: string;
  readonly hub: MonitorRole;
  /** The hub's event-loop delay monitor, when it exports one. */
  readonly loop: LoopDelay | undefined;
}

/** Broadcast fan-out buckets, in seconds: 50 µs (a few clients) to 1 s (a huge room on a busy loop). */
const FANOUT_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

const sets = new WeakMap<HubMetricsRegistry, Map<string, MetricSet>>();

/**
 * The `<prefix>*` metrics on one registry, shared by every hub of the process that exports
 * there (several apps in one process, as tests build them): one metric object per name, one
 * series per hub (`instance` label). The metrics leave the registry with the last hub.
 */
export class MetricSet {
  private readonly sources = new Set<MetricsSource>();
  private readonly names: string[] = [];
  private adapterMetrics = false;
  private loopMetric = false;
  readonly fanout: PromHistogram;

  /** The set of `registry` and `prefix`, created on first use. */
  static of(prom: PromClient, registry: HubMetricsRegistry, prefix: string): MetricSet {
    let byPrefix = sets.get(registry);
    if (!byPrefix) sets.set(registry, (byPrefix = new Map()));
    let set = byPrefix.get(prefix);
    if (!set) byPrefix.set(prefix, (set = new MetricSet(prom, registry, prefix)));
    return set;
  }

  private constructor(
    private readonly prom: PromClient,
    private readonly registry: HubMetricsRegistry,
    private readonly prefix: string,
  ) {
    try {
      this.fanout = this.registerBase();
    } catch (err) {
      this.removeAll();
      throw err;
    }
  }

  /** Starts exporting a hub's figures. */
  add(source: MetricsSource): void {
    this.sources.add(source);
    if (source.hub.distributed && !this.adapterMetrics) {
      this.adapterMetrics = true;
      this.registerAdapter();
    }
    if (source.loop && !this.loopMetric) {
      this.loopMetric = true;
      this.registerLoop();
    }
  }

  /** Stops exporting a hub's figures; the last one takes the metrics off the registry. */
  remove(source: MetricsSource): void {
    if (!this.sources.delete(source) || this.sources.size > 0) return;
    this.removeAll();
    sets.get(this.registry)?.delete(this.prefix);
  }

  private removeAll(): void {
    for (const name of this.names.splice(0)) this.registry.removeSingleMetric(name);
  }

  private registerBase(): PromHistogram {
    const each = (fn: (s: MetricsSource) => void) => {
      for (const s of this.sources) fn(s);
    };
    this.gauge('connections', 'Open WebSocket connections on this instance.', [], (g) =>
      each((s) => g.set({ instance: s.instance }, s.hub.online)),
    );
    this.counter('connections_opened_total', 'Connections accepted and registered.', [], (m) =>
      each((s) => m.inc({ instance: s.instance }, s.hub.counters.connectionsOpened)),
    );
    this.counter(
      'connections_closed_total',
      'Connections closed, by reason ("other" for an app\'s own).',
      ['reason'],
      (m) =>
        each((s) => {
          for (const [reason, n] of s.hub.counters.closed)
            m.inc({ instance: s.instance, reason }, n);
        }),
    );
    this.counter(
      'handshakes_rejected_total',
      'Handshakes refused, by HTTP status (or 4401/4403 close code when refusals close).',
      ['status'],
      (m) =>
        each((s) => {
          for (const [status, n] of Object.entries(s.hub.counters.rejected))
            m.inc({ instance: s.instance, status }, n);
        }),
    );
    this.counter(
      'frames_received_total',
      'Frames received, by the event of the handler that took them ("unhandled", "invalid" otherwise).',
      ['event'],
      (m) =>
        each((s) => {
          for (const [event, n] of s.hub.counters.frames) m.inc({ instance: s.instance, event }, n);
        }),
    );
    this.counter(
      'errors_total',
      'Error frames sent to clients, by code (app codes past the bounded set: OTHER).',
      ['code'],
      (m) =>
        each((s) => {
          for (const [code, n] of s.hub.counters.errors) m.inc({ instance: s.instance, code }, n);
        }),
    );
    this.counter('messages_delivered_total', 'Messages written to client sockets.', [], (m) =>
      each((s) => m.inc({ instance: s.instance }, s.hub.counters.delivered)),
    );
    this.counter(
      'messages_dropped_total',
      'Messages skipped for clients over maxBufferedBytes (slowConsumer "drop").',
      [],
      (m) => each((s) => m.inc({ instance: s.instance }, s.hub.counters.dropped)),
    );
    this.counter(
      'slow_consumers_closed_total',
      'Clients closed with 1013 for reading too slowly (slowConsumer "close").',
      [],
      (m) => each((s) => m.inc({ instance: s.instance }, s.hub.counters.slowClosed)),
    );
    this.counter('heartbeat_evictions_total', 'Clients cut for missing pongs.', [], (m) =>
      each((s) => m.inc({ instance: s.instance }, s.hub.counters.evictions)),
    );
    this.gauge(
      'buffered_bytes',
      'Bytes queued in client sockets, not yet written to the network.',
      [],
      (g) => each((s) => g.set({ instance: s.instance }, s.hub.bufferedBytes())),
    );
    this.gauge('rooms', 'Rooms with at least one member on this instance.', [], (g) =>
      each((s) => g.set({ instance: s.instance }, s.hub.roomCount)),
    );
    this.gauge('users', 'Distinct authenticated users connected to this instance.', [], (g) =>
      each((s) => g.set({ instance: s.instance }, s.hub.userCount)),
    );
    return this.add_(
      this.prom.Histogram,
      'broadcast_fanout_seconds',
      "Time to write one broadcast to this instance's recipients.",
      [],
      undefined,
      FANOUT_BUCKETS_S,
    ) as PromHistogram;
  }

  private registerAdapter(): void {
    const each = (fn: (s: MetricsSource, stats: HubAdapterStats) => void) => {
      for (const s of this.sources) {
        if (s.hub.distributed) fn(s, s.hub.adapterStats() ?? {});
      }
    };
    this.gauge(
      'adapter_connected',
      'Whether the cluster adapter is connected (1) or not (0).',
      [],
      (g) => each((s, st) => g.set({ instance: s.instance }, st.connected === false ? 0 : 1)),
    );
    this.counter(
      'adapter_publish_failures_total',
      'Messages the adapter could not publish.',
      [],
      (m) => each((s, st) => m.inc({ instance: s.instance }, st.publishFailures ?? 0)),
    );
    this.gauge('adapter_subscriptions', 'Channels the adapter is subscribed to.', [], (g) =>
      each((s, st) => g.set({ instance: s.instance }, st.subscriptions ?? 0)),
    );
    this.gauge(
      'adapter_presence_age_seconds',
      "Seconds since this instance's presence was last refreshed in the cluster store.",
      [],
      (g) =>
        each((s, st) => {
          if (st.presenceAgeMs !== undefined)
            g.set({ instance: s.instance }, st.presenceAgeMs / 1000);
        }),
    );
  }

  private registerLoop(): void {
    this.gauge(
      'event_loop_delay_seconds',
      'Event-loop delay since the previous scrape (beyond the sampling interval), by quantile (0.5, 0.99, max).',
      ['quantile'],
      (g) => {
        for (const s of this.sources) {
          const loop = s.loop;
          if (!loop || loop.count === 0) continue;
          const instance = s.instance;
          g.set({ instance, quantile: '0.5' }, loop.percentileMs(50) / 1000);
          g.set({ instance, quantile: '0.99' }, loop.percentileMs(99) / 1000);
          g.set({ instance, quantile: 'max' }, loop.maxMs / 1000);
          loop.reset();
        }
      },
    );
  }

  private counter(name: string, help: string, labels: string[], collect: (m: PromMetric) => void) {
    this.add_(this.prom.Counter, name, help, labels, function (this: PromMetric) {
      this.reset();
      collect(this);
    });
  }

  private gauge(name: string, help: string, labels: string[], collect: (m: PromMetric) => void) {
    this.add_(this.prom.Gauge, name, help, labels, function (this: PromMetric) {
      this.reset();
      collect(this);
    });
  }

  private add_(
    type: new (config: object) => PromMetric,
    name: string,
    help: string,
    labels: string[],
    collect: (() => void) | undefined,
    buckets?: number[],
  ): PromMetric {
    const fullName = this.prefix + name;
    let metric: PromMetric;
    try {
      metric = new type({
        name: fullName,
        help,
        labelNames: ['instance', ...labels],
        registers: [this.registry],
        ...(collect ? { collect } : {}),
        ...(buckets ? { buckets } : {}),
      });
    } catch (err) {
      if (/already been registered/.test(String((err as Error)?.message))) {
        throw new WsHubOptionsError(
          'metrics',
          `cannot register ${fullName}: the registry already has a metric of that name that ` +
            'ws-hub did not create. Give the hub a registry of its own ' +
            '(metrics: { registry: new Registry() }) or another prefix (metrics: { prefix: "chat_ws_" })',
        );
      }
      throw err;
    }
    this.names.push(fullName);
    return metric;
  }
}
