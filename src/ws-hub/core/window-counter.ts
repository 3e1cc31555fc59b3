/**
 * A count of events in a fixed window; cheaper than a sliding log and good enough for limits.
 * It reads a monotonic clock, so a wall-clock step back cannot freeze a window.
 */
export class WindowCounter {
  private count = 0;
  private windowStartMs = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Adds one event and returns the count within the current window. */
  hit(): number {
    const nowMs = this.nowMs();
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.count = 0;
    }
    return ++this.count;
  }
}
