import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';

/** Event-loop delay of the process, for `/stats` (what the benchmark reads). */
@Injectable()
export class LoopMonitor implements OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  /** p99 of the event-loop delay since start or the last reset, in milliseconds. */
  p99Ms(): number {
    const p99 = this.histogram.percentile(99);
    return Number.isFinite(p99) ? Math.round(p99 / 1e4) / 100 : 0;
  }

  maxMs(): number {
    const max = this.histogram.max;
    return Number.isFinite(max) ? Math.round(max / 1e4) / 100 : 0;
  }

  reset(): void {
    this.histogram.reset();
  }

  onModuleDestroy(): void {
    this.histogram.disable();
  }
}
