import type { HubAdapterHost, HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import type { DeliveryStrategy } from './delivery-strategy.js';
import type { HubEvents } from './hub-events.js';

/** The side of the hub a cluster adapter sees: it applies what other instances published. */
export class AdapterHost implements HubAdapterHost {
  constructor(
    readonly instanceId: string,
    private readonly registry: ClientRegistry,
    private readonly closer: Closer,
    private readonly strategy: DeliveryStrategy,
    private readonly events: HubEvents,
  ) {}

  get localOnline(): number {
    return this.registry.size;
  }

  /**
   * Applies a message another instance published (or, with a recording adapter, this
   * instance's own message coming back positioned): frames through the delivery strategy.
   */
  applyRemote(message: HubAdapterMessage): void {
    switch (message.type) {
      case 'broadcast':
      case 'send':
      case 'user':
        this.strategy.applyRemote(message);
        break;
      case 'disconnect': {
        const client = this.registry.get(message.clientId);
        // A takeover keeps the connection that resumed the session.
        if (!client || client.connectionId === message.keep) break;
        this.closer.close(
          client,
          message.code,
          message.reason,
          message.keep !== undefined
            ? DisconnectReason.SESSION_RESUMED
            : DisconnectReason.SERVER_DISCONNECT,
        );
        break;
      }
      case 'disconnect-user':
        this.closer.closeUser(message.userId, message.code, message.reason);
        break;
      case 'revoke-user':
        this.closer.closeUser(
          message.userId,
          CloseCode.REVOKED,
          message.reason,
          DisconnectReason.REVOKED,
        );
        break;
    }
  }

  resubscribed(): void {
    this.strategy.resubscribed?.();
  }

  instanceGone(instanceId: string): void {
    this.events.instanceGone.next(instanceId);
  }
}
