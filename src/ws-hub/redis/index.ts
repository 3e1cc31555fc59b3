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
import type { HubAdapterFactory } from '../interfaces/cluster-adapter.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import { redisAdapterFactory as lazyRedisAdapterFactory } from './factory.js';
import type { RedisHubAdapterOptions } from './options.js';
import { RedisHubAdapter } from './redis.adapter.js';

export { RedisHubAdapter };
export type { RedisChannelNames } from './redis.adapter.js';

/**
 * The Redis adapter as a `{ useFactory }` for the module's `adapter` option (the `redis`
 * option is sugar for it): built once, when the module starts.
 */
export const redisAdapterFactory: (
  options: RedisHubAdapterOptions | HubRedisOptions,
) => HubAdapterFactory = lazyRedisAdapterFactory;
export type { RedisHubAdapterOptions } from './options.js';
export type { RedisHubAdapterStats } from './stats.js';

/** A `RedisHubAdapter` to give as the module's `adapter` option. */
export function createRedisHubAdapter(options: RedisHubAdapterOptions): RedisHubAdapter {
  return new RedisHubAdapter(options);
}
