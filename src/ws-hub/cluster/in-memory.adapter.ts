import type {
  HubAdapter,
  HubAdapterHost,
  HubInstanceInfo,
} from '../interfaces/cluster-adapter.interface.js';

/** The default adapter: one instance, so nothing crosses and the cluster is this instance. */
export class InMemoryHubAdapter implements HubAdapter {
  private host: HubAdapterHost | undefined;

  init(host: HubAdapterHost): void {
    this.host = host;
  }

  publish(): void {}
  roomAdded(): void {}
  roomRemoved(): void {}
  userAdded(): void {}
  userRemoved(): void {}

  async clusterOnline(): Promise<number> {
    return this.host?.localOnline ?? 0;
  }

  async instances(): Promise<HubInstanceInfo[]> {
    if (!this.host) return [];
    return [{ id: this.host.instanceId, online: this.host.localOnline, lastSeenAt: Date.now() }];
  }

  async close(): Promise<void> {
    this.host = undefined;
  }
}
