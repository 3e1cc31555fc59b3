import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay, without the sampling bias of `monitorEventLoopDelay`: its histogram records
 * the time between two runs of its own timer, so every reading includes the `resolutionMs`
 * the timer waits (an idle loop reads p50 = the resolution). The delay is a reading minus the
 * resolution, never below 0.
 */
export class LoopDelay {
  private readonly histogram: IntervalHistogram;

  constructor(private readonly resolutionMs: number) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  /** Readings since the last `reset()`. */
  get count(): number {
    return this.histogram.count;
  }

  /** The `p`th percentile of the delay since the last `reset()`, in milliseconds. */
  percentileMs(p: number): number {
    return this.unbiased(this.histogram.percentile(p));
  }

  /** The largest delay since the last `reset()`, in milliseconds. */
  get maxMs(): number {
    return this.unbiased(this.histogram.max);
  }

  reset(): void {
    this.histogram.reset();
  }

  dispose(): void {
    this.histogram.disable();
  }

  private unbiased(ns: number): number {
    if (!Number.isFinite(ns)) return 0;
    return Math.max(0, ns / 1e6 - this.resolutionMs);
  }
}
