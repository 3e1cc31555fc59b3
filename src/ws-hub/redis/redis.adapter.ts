import type { HubAdapter, HubAdapterHost, HubInstanceInfo } from '../hub-adapter.interface.js';
import type { HubRedisOptions } from '../hub-options.interface.js';

/** Placeholder replaced by the Redis adapter implementation (issue 4). */
export class RedisHubAdapter implements HubAdapter {
  constructor(readonly redisOptions: HubRedisOptions) {
    throw new Error('RedisHubAdapter is not implemented yet');
  }
  init(_host: HubAdapterHost): void {}
  publish(): void {}
  roomAdded(): void {}
  roomRemoved(): void {}
  userAdded(): void {}
  userRemoved(): void {}
  async clusterOnline(): Promise<number> {
    return 0;
  }
  async instances(): Promise<HubInstanceInfo[]> {
    return [];
  }
  async close(): Promise<void> {}
}
