import type { LoggerService } from '@nestjs/common';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { OutageLog } from '../cluster/outage-log.js';
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
 * The outage log of a Redis adapter (`OutageLog` of the cluster toolkit): lines name Redis and
 * its target, and never carry a password of the options.
 */
export class RedisOutageLog extends OutageLog {
  constructor(
    /** `host:port` of the Redis, as every line names it. */
    target: string,
    secrets: readonly string[],
    logger: Pick<LoggerService, 'log' | 'warn'> = hubLogger,
    now: () => number = Date.now,
  ) {
    super({ backend: 'Redis', target, redact: (err) => redact(err, secrets) }, logger, now);
  }
}
