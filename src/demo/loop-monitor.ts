import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';

/** How often the histogram's timer samples the loop, in milliseconds. */
export const LOOP_RESOLUTION_MS = 10;

/**
 * Event-loop delay of the process, for `/stats` (what the benchmark reads).
 *
 * `monitorEventLoopDelay` records the time between two ticks of a repeating timer, and the
 * timer is due every `resolution` ms: a reading is the resolution plus the delay, so an idle
 * loop reads p50 ≈ 10 ms. The delay is the reading minus the resolution (never below 0): the
 * time a callback due now waited for the loop. A loop blocked for N ms reads between N − 10
 * and N (the tick that was due falls somewhere inside the block).
 */
@Injectable()
export class LoopMonitor implements OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({
    resolution: LOOP_RESOLUTION_MS,
  });

  constructor() {
    this.histogram.enable();
  }

  /** The p-th percentile of the delay since start or the last reset, in ms (0.01 ms steps). */
  percentileMs(p: number): number {
    return this.delayMs(this.histogram.percentile(p));
  }

  /** p50 of the delay since start or the last reset, in milliseconds. */
  p50Ms(): number {
    return this.percentileMs(50);
  }

  /** p99 of the delay since start or the last reset, in milliseconds. */
  p99Ms(): number {
    return this.percentileMs(99);
  }

  /** The longest delay since start or the last reset, in milliseconds. */
  maxMs(): number {
    return this.delayMs(this.histogram.max);
  }

  /** Samples taken since start or the last reset (one per resolution interval when idle). */
  samples(): number {
    return this.histogram.count;
  }

  reset(): void {
    this.histogram.reset();
  }

  onModuleDestroy(): void {
    this.histogram.disable();
  }

  /** A reading in nanoseconds, as a delay in milliseconds: without the sampling interval. */
  private delayMs(readingNs: number): number {
    // Before the first sample the histogram answers NaN or a huge sentinel: no delay seen.
    if (this.histogram.count === 0 || !Number.isFinite(readingNs)) return 0;
    const delayNs = Math.max(0, readingNs - LOOP_RESOLUTION_MS * 1e6);
    return Math.round(delayNs / 1e4) / 100;
  }
}
