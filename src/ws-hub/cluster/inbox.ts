import type {
  HubAdapterDeliveryStats,
  HubAdapterMessage,
  Recorded,
} from '../interfaces/cluster-adapter.interface.js';
import { decodeMessage, originPrefix } from './codec.js';
import type { Floors } from './floors.js';
import type { MessageFilter } from './sequence-filter.js';

/** The inbox's counters (part of an adapter's stats, `HubAdapterStats`). */
interface InboxCounters extends HubAdapterDeliveryStats {
  /** Messages from other instances applied to this instance's clients. */
  received: number;
}

/**
 * With recovery on, the publishing side of an adapter that records messages (the Redis
 * adapter's recorder): whether an own positioned copy is still to be delivered here, and the floors it
 * learns from every positioned message.
 */
export interface OwnCopies {
  /** False when the clients here got this own message already. */
  acceptOwn(seq: number): boolean;
  readonly floors: Pick<Floors, 'saw'>;
}

/**
 * The receiving side of the adapter: decodes each payload once, drops what this instance
 * delivered itself, extra copies of a multi-room broadcast and anything older than the last
 * message of its origin (`SequenceFilter`), then applies the rest.
 *
 * Without recovery an instance skips its own messages by their header's start (it delivered
 * them already). With recovery its own recorded messages come back positioned, in the order
 * the store assigned their offsets: they go to its recovering clients (`own: true`), unless the
 * recorder handed them over already (the store too slow, or the subscriber was away).
 *
 * Where a multi-room broadcast is appended once per room (a sharded store), it comes
 * once per room's channel, each copy with its own room's position (and the same `mid`): the
 * first goes to everyone, the others (`again`) only to recovering clients, who need every
 * position (`PositionedMessage`).
 */
export class Inbox {
  private readonly selfPrefix: string;

  constructor(
    selfId: string,
    private readonly filter: MessageFilter,
    private readonly recorder: OwnCopies | undefined,
    private readonly counters: InboxCounters,
    private readonly apply: (message: HubAdapterMessage, origin: string) => void,
  ) {
    this.selfPrefix = originPrefix(selfId);
  }

  receive(payload: string): void {
    const own = payload.startsWith(this.selfPrefix);
    if (own && this.recorder === undefined) return;
    const decoded = decodeMessage(payload);
    if (!decoded) {
      this.counters.malformed++;
      return;
    }
    const message = decoded.message as HubAdapterMessage & Recorded;
    const positioned = message.positioned;
    if (own) {
      // Only positioned copies concern this instance: it delivered the plain frame itself.
      if (positioned === undefined) return;
      if (!this.recorder!.acceptOwn(decoded.seq)) return;
      message.own = true;
    }
    if (positioned) this.recorder?.floors.saw(positioned.positions);
    if (!this.filter.accept(decoded.origin, decoded.seq)) {
      // Copies of one message appended per stream (a sharded store): each carries its own
      // stream's position, and recovering clients need every one of them.
      if (positioned?.mid === undefined || !this.filter.seen(decoded.origin, decoded.seq)) {
        this.counters.duplicates++;
        return;
      }
      message.again = true;
    }
    if (!message.own && !message.again) this.counters.received++;
    this.apply(message, decoded.origin);
  }
}
