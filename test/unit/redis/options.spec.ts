import { describe, expect, it } from 'vitest';
import { RedisHubAdapter } from '../../../src/ws-hub/redis/index.js';
import { REDIS_DEFAULTS, resolveRedisOptions } from '../../../src/ws-hub/redis/options.js';

/** Enough of an ioredis client for validation (never connected here). */
const fakeClient = (extra: object = {}) =>
  ({ duplicate: () => undefined, publish: () => undefined, ...extra }) as never;

describe('resolveRedisOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveRedisOptions({ url: 'redis://x' })).toEqual({
      client: undefined,
      url: 'redis://x',
      redisOptions: undefined,
      keyPrefix: 'ws-hub',
      heartbeatIntervalMs: 2000,
      instanceTimeoutMs: 6000,
      initTimeoutMs: 5000,
      commandTimeoutMs: 1000,
      reconnectMaxDelayMs: 1000,
    });
    expect(REDIS_DEFAULTS.keyPrefix).toBe('ws-hub');
  });

  it('keeps given values, reads null as absent, and ignores the url beside a client', () => {
    const client = fakeClient();
    const o = resolveRedisOptions({
      client,
      url: 'redis://ignored',
      keyPrefix: 'chat',
      heartbeatIntervalMs: 100,
      instanceTimeoutMs: 301,
      initTimeoutMs: null as never,
      commandTimeoutMs: 7,
      reconnectMaxDelayMs: 9,
    });
    expect(o).toMatchObject({
      client,
      url: undefined,
      keyPrefix: 'chat',
      heartbeatIntervalMs: 100,
      instanceTimeoutMs: 301,
      initTimeoutMs: 5000,
      commandTimeoutMs: 7,
      reconnectMaxDelayMs: 9,
    });
  });

  it.each([
    [undefined, 'RedisHubAdapter: options are required'],
    [{}, 'RedisHubAdapter: needs a "url" or a "client"'],
    [{ url: '' }, 'RedisHubAdapter: needs a "url" or a "client"'],
    [{ client: {} }, 'RedisHubAdapter: "client" must be an ioredis client'],
    [{ client: null }, 'RedisHubAdapter: "client" must be an ioredis client'],
    [
      { client: fakeClient({ isCluster: true }) },
      'RedisHubAdapter: Redis Cluster is not supported; give a client of a single Redis (or its primary)',
    ],
    [
      { url: 'redis://x', keyPrefix: '' },
      'RedisHubAdapter: "keyPrefix" must be a non-empty string',
    ],
    [
      { url: 'redis://x', heartbeatIntervalMs: -1 },
      'RedisHubAdapter: "heartbeatIntervalMs" must be a positive integer (ms), got -1',
    ],
    [
      { url: 'redis://x', instanceTimeoutMs: 1.5 },
      'RedisHubAdapter: "instanceTimeoutMs" must be a positive integer (ms), got 1.5',
    ],
    [
      { url: 'redis://x', initTimeoutMs: 0 },
      'RedisHubAdapter: "initTimeoutMs" must be a positive integer (ms), got 0',
    ],
    [
      { url: 'redis://x', commandTimeoutMs: '100ms' },
      'RedisHubAdapter: "commandTimeoutMs" must be a positive integer (ms), got "100ms" (environment values are strings: convert them (Number(value), value === "true"))',
    ],
    [
      { url: 'redis://x', reconnectMaxDelayMs: {} },
      'RedisHubAdapter: "reconnectMaxDelayMs" must be a positive integer (ms), got object',
    ],
    [
      { url: 'redis://x', heartbeatIntervalMs: 2000, instanceTimeoutMs: 2000 },
      'RedisHubAdapter: "instanceTimeoutMs" (2000) must exceed "heartbeatIntervalMs" (2000); three times it is a good choice',
    ],
    [
      { url: 'redis://x', heartbeatIntervalMs: 7000 },
      'RedisHubAdapter: "instanceTimeoutMs" (6000) must exceed "heartbeatIntervalMs" (7000); three times it is a good choice',
    ],
  ])('rejects %j', (options, message) => {
    const resolve = (): unknown => resolveRedisOptions(options as never);
    expect(resolve).toThrow(TypeError);
    expect(resolve).toThrow(new TypeError(message));
  });

  it('is what the adapter checks on construction, before connecting anything', () => {
    expect(() => new RedisHubAdapter({})).toThrow(/url.*client/);
    expect(() => new RedisHubAdapter({ url: 'redis://x', heartbeatIntervalMs: -1 })).toThrow(
      /heartbeatIntervalMs/,
    );
    const adapter = new RedisHubAdapter({ url: 'redis://127.0.0.1:1', keyPrefix: 'k' });
    expect(adapter.distributed).toBe(true);
    expect(adapter.channels().room('r')).toBe('k:room:r');
    expect(adapter.stats()).toEqual({
      published: 0,
      publishFailures: 0,
      received: 0,
      duplicates: 0,
      malformed: 0,
      reconnects: 0,
      subscriptions: 0,
      connected: false,
      layoutConflicts: 0,
    });
  });
});
