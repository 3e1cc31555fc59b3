import type { LoggerService } from '@nestjs/common';
import { hubLogger } from '../util/logger.js';

/** What an outage log needs to know of its backend. */
interface OutageSubject {
  /** The backend as log lines name it (`Redis`, `NATS`). */
  readonly backend: string;
  /** Where the adapter connects (`host:port`, without credentials), as every line names it. */
  readonly target: string;
  /** Error text fit for a log line (no credentials, bounded length). */
  redact(err: unknown): string;
}

/**
 * Logs an outage once, however many failures it brings, and its end once: a backend that is
 * down for a minute must not flood the logs with one line per message.
 */
export class OutageLog {
  private down = false;
  private since = 0;
  private failures = 0;
  private lastFailureAt = 0;
  /**
   * An outage ends only once no failure came for this long (with a sharded backend, a shard's
   * failover fails some commands while others, presence say, succeed: one outage, not a
   * flapping one). 0: at the first recovery.
   */
  quietMs = 0;

  constructor(
    private readonly subject: OutageSubject,
    private readonly logger: Pick<LoggerService, 'log' | 'warn'> = hubLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Where the adapter connects, as every line names it. */
  get target(): string {
    return this.subject.target;
  }

  /** Whether a failure was noted and no recovery since. */
  get active(): boolean {
    return this.down;
  }

  /** Counts a failure; the first of an outage is logged. */
  failure(what: string, err: unknown): void {
    this.failures++;
    this.lastFailureAt = this.now();
    if (this.down) return;
    this.down = true;
    this.since = this.now();
    this.logger.warn(
      `${this.subject.backend} unavailable (${what}: ${this.redact(err)}); cross-instance delivery is paused, ` +
        `local delivery continues; reconnecting in the background`,
    );
  }

  /** Ends the outage, if any, with one line saying how long it lasted. */
  recovered(): void {
    if (!this.down || this.now() - this.lastFailureAt < this.quietMs) return;
    this.down = false;
    this.logger.log(
      `${this.subject.backend} connection to ${this.target} restored after ${this.now() - this.since} ms ` +
        `(${this.failures} failures during the outage)`,
    );
    this.failures = 0;
  }

  redact(err: unknown): string {
    return this.subject.redact(err);
  }
}
