import type { ClusterLink } from '../cluster/cluster-link.js';
import type { ClientRegistry } from './client-registry.js';
import type { Delivery } from './delivery.js';
import type { DeliveryStrategy, FrameMessage } from './delivery-strategy.js';
import type { HubDirectHandler } from './route-table.js';
import { OutgoingFrame } from './frame-writer.js';

const NO_ROUTES: ReadonlyMap<string, HubDirectHandler> = new Map();

/**
 * Delivery without recovery: every client gets the frame as published, this instance's at once,
 * the others' through the cluster adapter (which carries the frame text, never re-encoded).
 */
export class PlainDelivery implements DeliveryStrategy {
  readonly routes = NO_ROUTES;
  readonly idsMove = false;

  constructor(
    private readonly registry: ClientRegistry,
    private readonly delivery: Delivery,
    private readonly link: ClusterLink,
  ) {}

  broadcast(frame: OutgoingFrame, rooms: string[] | undefined, except: string[] | undefined) {
    const n = this.delivery.broadcast({ plain: frame, forReceivers: undefined }, rooms, except);
    this.link.publish({ type: 'broadcast', frame: frame.text, rooms, except });
    return n;
  }

  send(clientId: string, frame: OutgoingFrame): boolean {
    const client = this.registry.get(clientId);
    if (client) {
      this.delivery.text(client, frame.text);
      return true;
    }
    if (!this.link.isRemoteClientId(clientId)) return false;
    this.link.publish({ type: 'send', clientId, frame: frame.text });
    return true;
  }

  toUser(userId: string, frame: OutgoingFrame): number {
    const n = this.delivery.toUser(userId, { plain: frame, forReceivers: undefined });
    this.link.publish({ type: 'user', userId, frame: frame.text });
    return n;
  }

  applyRemote(message: FrameMessage): void {
    const plain = { plain: new OutgoingFrame(message.frame), forReceivers: undefined };
    switch (message.type) {
      case 'broadcast':
        this.delivery.broadcast(plain, message.rooms, message.except);
        break;
      case 'send': {
        const client = this.registry.get(message.clientId);
        if (client) this.delivery.message(client, plain);
        break;
      }
      case 'user':
        this.delivery.toUser(message.userId, plain);
        break;
    }
  }

  admit(): boolean {
    return true;
  }

  joinedPosition(): undefined {
    return undefined;
  }

  start(): void {}

  async close(): Promise<void> {}
}
