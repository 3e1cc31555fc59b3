/**
 * `ws-hub/redis`: the Redis cross-instance adapter. Needs the optional peer dependency
 * `ioredis`. Use it through the module options (`WsHubModule.forRoot({ redis: { url } })`),
 * or build one (or its factory) to pass as `adapter` when you need the extra tuning options:
 *
 * ```ts
 * WsHubModule.forRoot({ adapter: createRedisHubAdapter({ url: process.env.REDIS_URL, initTimeoutMs: 2000 }) })
 * WsHubModule.forRoot({ adapter: redisAdapterFactory({ url: process.env.REDIS_URL }) })
 * ```
 */
import type { RedisHubAdapterOptions } from './options.js';
import { RedisHubAdapter } from './redis.adapter.js';

export { RedisHubAdapter };
export { redisAdapterFactory } from './factory.js';
export type { RedisHubAdapterOptions } from './options.js';
export type { RedisHubAdapterStats } from './stats.js';

/** A `RedisHubAdapter` to give as the module's `adapter` option. */
export function createRedisHubAdapter(options: RedisHubAdapterOptions): RedisHubAdapter {
  return new RedisHubAdapter(options);
}
