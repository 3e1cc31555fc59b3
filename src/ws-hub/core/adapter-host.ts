import type { HubAdapterHost, HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import type { Delivery } from './delivery.js';
import { OutgoingFrame } from './frame-writer.js';
import type { HubStreams } from './hub-streams.js';

/** The side of the hub a cluster adapter sees: it applies what other instances published. */
export class AdapterHost implements HubAdapterHost {
  constructor(
    readonly instanceId: string,
    private readonly registry: ClientRegistry,
    private readonly delivery: Delivery,
    private readonly closer: Closer,
    private readonly streams: HubStreams,
  ) {}

  get localOnline(): number {
    return this.registry.size;
  }

  applyRemote(message: HubAdapterMessage): void {
    switch (message.type) {
      case 'broadcast':
        this.delivery.broadcast(new OutgoingFrame(message.frame), message.rooms, message.except);
        break;
      case 'send': {
        const client = this.registry.get(message.clientId);
        if (client) this.delivery.text(client, message.frame);
        break;
      }
      case 'user':
        this.delivery.toUser(message.userId, message.frame);
        break;
      case 'disconnect': {
        const client = this.registry.get(message.clientId);
        if (client) {
          this.closer.close(
            client,
            message.code,
            message.reason,
            DisconnectReason.SERVER_DISCONNECT,
          );
        }
        break;
      }
      case 'disconnect-user':
        this.closer.closeUser(message.userId, message.code, message.reason);
        break;
    }
  }

  instanceGone(instanceId: string): void {
    this.streams.instanceGone.next(instanceId);
  }
}
