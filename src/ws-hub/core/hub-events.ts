import { Subject } from 'rxjs';
import type {
  HubConnectedEvent,
  HubDisconnectedEvent,
  HubMessageEvent,
} from '../interfaces/events.interface.js';

/** The subjects behind `HubService`'s public streams. */
export class HubEvents {
  readonly connected = new Subject<HubConnectedEvent>();
  readonly disconnected = new Subject<HubDisconnectedEvent>();
  readonly message = new Subject<HubMessageEvent>();
  readonly instanceGone = new Subject<string>();

  complete(): void {
    this.connected.complete();
    this.disconnected.complete();
    this.message.complete();
    this.instanceGone.complete();
  }
}
