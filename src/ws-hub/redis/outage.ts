import type { LoggerService } from '@nestjs/common';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import type { ResolvedRedisOptions } from './options.js';

/** Longest error text a log line carries. */
const MAX_TEXT = 300;

/** `host:port/db` of a Redis URL, without credentials: the only form of it ever logged. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis (unparsable url)';
  }
}

/** Where the adapter connects, as log lines name it. */
export function describeTarget(o: ResolvedRedisOptions): string {
  if (o.cluster) return `cluster ${o.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (o.clusterClient) return 'cluster (given client)';
  if (!o.client) return describeUrl(o.url!);
  const co = o.client.options ?? {};
  return `${co.host ?? 'localhost'}:${co.port ?? 6379}`;
}

/** Passwords found in the options, to be masked in anything logged. */
export function secretsOf(o: ResolvedRedisOptions): string[] {
  const secrets: string[] = [];
  if (o.client) {
    const password = o.client.options?.password;
    if (password) secrets.push(password);
  } else if (o.url) {
    try {
      const u = new URL(o.url);
      if (u.password) secrets.push(u.password, decodeURIComponent(u.password));
    } catch {
      // describeUrl reports it as unparsable
    }
  }
  if (o.redisOptions?.password) secrets.push(o.redisOptions.password);
  const clusterPassword = (o.cluster?.clusterOptions ?? o.clusterClient?.options)?.redisOptions
    ?.password;
  if (clusterPassword) secrets.push(clusterPassword);
  return secrets;
}

/** Error text fit for a log line: no credentials, no echoed command arguments, bounded length. */
export function redact(err: unknown, secrets: readonly string[]): string {
  let text = errorText(err);
  text = text.replace(/(rediss?:\/\/)[^@\s/]*@/gi, '$1***@');
  // Redis echoes a refused command's arguments (scripts, payloads): not worth a log line.
  text = text.replace(/,? with args beginning with:[\s\S]*$/, '');
  for (const s of secrets) if (s) text = text.split(s).join('***');
  if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT) + '...';
  return text;
}

/**
 * Logs an outage once, however many failures it brings, and its end once: a Redis that is down
 * for a minute must not flood the logs with one line per message.
 */
export class OutageLog {
  private down = false;
  private since = 0;
  private failures = 0;
  private lastFailureAt = 0;
  /**
   * Cluster mode: an outage ends only once no failure came for this long (a shard's failover
   * fails some commands while others, presence say, succeed: one outage, not a flapping one).
   */
  quietMs = 0;

  constructor(
    /** `host:port` of the Redis, as every line names it. */
    readonly target: string,
    private readonly secrets: readonly string[],
    private readonly logger: Pick<LoggerService, 'log' | 'warn'> = hubLogger,
    private readonly now: () => number = Date.now,
  ) {}

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
      `Redis unavailable (${what}: ${this.redact(err)}); cross-instance delivery is paused, ` +
        `local delivery continues; reconnecting in the background`,
    );
  }

  /** Ends the outage, if any, with one line saying how long it lasted. */
  recovered(): void {
    if (!this.down || this.now() - this.lastFailureAt < this.quietMs) return;
    this.down = false;
    this.logger.log(
      `Redis connection to ${this.target} restored after ${this.now() - this.since} ms ` +
        `(${this.failures} failures during the outage)`,
    );
    this.failures = 0;
  }

  redact(err: unknown): string {
    return redact(err, this.secrets);
  }
}
