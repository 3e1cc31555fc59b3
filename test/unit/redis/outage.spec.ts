import { describe, expect, it } from 'vitest';
import { resolveRedisOptions } from '../../../src/ws-hub/redis/options.js';
import {
  describeTarget,
  describeUrl,
  redact,
  RedisOutageLog,
  secretsOf,
} from '../../../src/ws-hub/redis/outage.js';

function recordingLogger(): {
  lines: [string, string][];
  log(m: string): void;
  warn(m: string): void;
} {
  const lines: [string, string][] = [];
  return {
    lines,
    log: (m) => lines.push(['log', m]),
    warn: (m) => lines.push(['warn', m]),
  };
}

describe('outage log', () => {
  it('logs the first failure of an outage once, and its end once with duration and count', () => {
    const logger = recordingLogger();
    let now = 1_000;
    const log = new RedisOutageLog('h:6379', [], logger, () => now);
    expect(log.active).toBe(false);
    log.recovered(); // no outage: nothing to say
    log.failure('publish', 'not connected');
    now += 250;
    log.failure('presence', new Error('ECONNREFUSED'));
    log.failure('publish', 'not connected');
    expect(log.active).toBe(true);
    now += 250;
    log.recovered();
    log.recovered();
    expect(log.active).toBe(false);
    expect(logger.lines).toEqual([
      [
        'warn',
        'Redis unavailable (publish: not connected); cross-instance delivery is paused, local delivery continues; reconnecting in the background',
      ],
      ['log', 'Redis connection to h:6379 restored after 500 ms (3 failures during the outage)'],
    ]);
    log.failure('subscribe', 'x');
    log.recovered();
    expect(logger.lines[3][1]).toContain('(1 failures during the outage)');
  });

  it('never logs a password, echoed command arguments or an endless message', () => {
    const secrets = ['p@ss/w', 'hunter2'];
    expect(redact(new Error('auth hunter2 failed for redis://u:p%40ss@host:1'), secrets)).toBe(
      'auth *** failed for redis://***@host:1',
    );
    expect(redact('ERR p@ss/w', secrets)).toBe('ERR ***');
    expect(
      redact(new Error("NOPERM no permission, with args beginning with: 'local payload'"), []),
    ).toBe('NOPERM no permission');
    const long = redact('x'.repeat(1_000), []);
    expect(long).toHaveLength(303);
    expect(long.endsWith('...')).toBe(true);
    expect(new RedisOutageLog('t', ['hunter2']).redact('hunter2')).toBe('***');
  });

  it('names a URL without its credentials', () => {
    expect(describeUrl('redis://user:pw@cache.internal:6380/2')).toBe('cache.internal:6380/2');
    expect(describeUrl('rediss://:pw@cache')).toBe('cache:6379');
    expect(describeUrl('not a url')).toBe('redis (unparsable url)');
  });

  it('collects the passwords of a URL (raw and decoded), a client and redisOptions', () => {
    const fromUrl = resolveRedisOptions({
      url: 'redis://:p%40ss@h:1',
      redisOptions: { password: 'extra' },
    });
    expect(secretsOf(fromUrl)).toEqual(['p%40ss', 'p@ss', 'extra']);
    expect(describeTarget(fromUrl)).toBe('h:1');
    const client = {
      duplicate: () => undefined,
      publish: () => undefined,
      options: { host: 'db', port: 7000, password: 'cpw' },
    } as never;
    const fromClient = resolveRedisOptions({ client });
    expect(secretsOf(fromClient)).toEqual(['cpw']);
    expect(describeTarget(fromClient)).toBe('db:7000');
    expect(secretsOf(resolveRedisOptions({ url: 'redis://h' }))).toEqual([]);
  });
});
