import type { WsHubModuleOptions } from 'ws-hub';
import { createRedisHubAdapter, type RedisHubAdapterOptions } from 'ws-hub/redis';

/** One instance uses the module's `redis` option, the other the `ws-hub/redis` entry. */
export function hubOptions(): WsHubModuleOptions {
  const url = process.env['REDIS_URL'];
  if (!url) throw new Error('REDIS_URL is not set');
  if (process.env['HUB_REDIS_ENTRY'] === 'adapter') {
    const options: RedisHubAdapterOptions = { url, initTimeoutMs: 5_000 };
    return { path: '/ws', adapter: createRedisHubAdapter(options) };
  }
  return { path: '/ws', redis: { url } };
}
