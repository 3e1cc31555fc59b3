import type { HubAdapterHost, HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import type { Delivery } from './delivery.js';
import { OutgoingFrame } from './frame-writer.js';
import type { Positions } from '../protocol/streams.js';
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

  /** Set when recovery is on (its presence tells positioned messages are expected). */
  recovery: unknown;

  /**
   * Applies a message another instance published, or (with recovery) this instance's own
   * message coming back positioned: plain clients here had that one already.
   */
  applyRemote(message: HubAdapterMessage): void {
    switch (message.type) {
      case 'broadcast': {
        const [plain, positioned] = this.frames(message);
        this.delivery.broadcast(plain, message.rooms, message.except, positioned);
        break;
      }
      case 'send': {
        const client = this.registry.get(message.clientId);
        if (client) this.delivery.message(client, ...this.frames(message));
        break;
      }
      case 'user':
        this.delivery.toUser(message.userId, ...this.frames(message));
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

  /** The plain frame (none for own messages) and the positioned one (the plain one without). */
  private frames(message: {
    frame: string;
    positioned?: { text: string; positions: Positions };
    own?: boolean;
  }): [OutgoingFrame | undefined, OutgoingFrame | undefined] {
    const text = new OutgoingFrame(message.frame);
    const p = message.positioned;
    // Without a position (a cluster without recovery, or a history write that failed):
    // recovering clients get the plain frame, and the adapter marks the gap in the history.
    return [message.own ? undefined : text, p ? new OutgoingFrame(p.text, p.positions) : text];
  }

  instanceGone(instanceId: string): void {
    this.streams.instanceGone.next(instanceId);
  }
}
