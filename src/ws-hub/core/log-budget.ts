/**
 * A bound on how many lines of one kind reach the log: `maxLines` per `windowMs`, the rest
 * counted and reported with the next line let through. Clients can make handlers fail at will;
 * one stack per failure would let them flood the log (and the disk behind it).
 */
export class LogBudget {
  private windowStartMs = -Infinity;
  private lines = 0;
  private suppressed = 0;

  constructor(
    private readonly maxLines: number,
    private readonly windowMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /**
   * Whether a line may be written now. When it may, `note` says how many were held back since
   * the last one written (empty when none), to append to it.
   */
  take(): { note: string } | undefined {
    const now = this.nowMs();
    if (now - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = now;
      this.lines = 0;
    }
    if (this.lines >= this.maxLines) {
      this.suppressed++;
      return undefined;
    }
    this.lines++;
    const held = this.suppressed;
    this.suppressed = 0;
    return { note: held > 0 ? ` (${held} similar line${held === 1 ? '' : 's'} not logged)` : '' };
  }
}
