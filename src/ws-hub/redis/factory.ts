import type { HubAdapterFactory } from '../interfaces/cluster-adapter.interface.js';
import type { HubRedisOptions } from '../interfaces/options.interface.js';
import type { RedisHubAdapterOptions } from './options.js';

/**
 * The Redis adapter as a factory for the module's `adapter` option (the `redis` option is sugar
 * for it). The adapter, and ioredis with it, is loaded only when the factory runs, so that
 * single-instance apps need no ioredis.
 */
export function redisAdapterFactory(
  options: RedisHubAdapterOptions | HubRedisOptions,
): HubAdapterFactory {
  return {
    useFactory: async () => {
      const { RedisHubAdapter } = await import('./redis.adapter.js');
      return new RedisHubAdapter(options);
    },
  };
}
