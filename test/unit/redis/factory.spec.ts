import { describe, expect, it } from 'vitest';
import { InMemoryHubAdapter } from '../../../src/ws-hub/cluster/in-memory.adapter.js';
import type { HubAdapter } from '../../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import { adapterFactoryOf } from '../../../src/ws-hub/module/providers.js';
import { resolveHubOptions } from '../../../src/ws-hub/options/resolve-options.js';
import { RedisHubAdapter, redisAdapterFactory } from '../../../src/ws-hub/redis/index.js';

describe('the adapter provider', () => {
  it('runs a given factory, or hands a given instance over as it is', async () => {
    const adapter = new InMemoryHubAdapter();
    const byInstance = adapterFactoryOf(resolveHubOptions({ adapter }));
    expect(await byInstance.useFactory()).toBe(adapter);
    let runs = 0;
    const factory = {
      useFactory: async (): Promise<HubAdapter> => {
        runs++;
        return adapter;
      },
    };
    expect(await adapterFactoryOf(resolveHubOptions({ adapter: factory })).useFactory()).toBe(
      adapter,
    );
    expect(runs).toBe(1);
  });

  it('reads the redis option as the Redis adapter factory, and defaults to the in-memory adapter', async () => {
    const redis = await adapterFactoryOf(
      resolveHubOptions({ redis: { url: 'redis://127.0.0.1:1' } }),
    ).useFactory();
    expect(redis).toBeInstanceOf(RedisHubAdapter);
    await redis.close();
    const built = await redisAdapterFactory({ url: 'redis://127.0.0.1:1' }).useFactory();
    expect(built).toBeInstanceOf(RedisHubAdapter);
    await built.close();
    expect(await adapterFactoryOf(resolveHubOptions({})).useFactory()).toBeInstanceOf(
      InMemoryHubAdapter,
    );
  });

  it('refuses an adapter option that is neither an adapter nor a factory', () => {
    expect(() => resolveHubOptions({ adapter: { useFactory: 1 } as never })).toThrow(
      'option "adapter" must implement HubAdapter',
    );
  });
});
