import type { HubAdapterMessage } from '../interfaces/cluster-adapter.interface.js';
import { decodeMessage, originPrefix } from './codec.js';
import type { Recorder } from './recorder.js';
import type { MessageFilter } from './sequence-filter.js';
import type { AdapterCounters } from './stats.js';

/**
 * The receiving side of the adapter: decodes each payload once, drops what this instance
 * delivered itself, extra copies of a multi-room broadcast and anything older than the last
 * message of its origin (`SequenceFilter`), then applies the rest.
 *
 * Without recovery an instance skips its own messages by their header's start (it delivered
 * them already). With recovery its own recorded messages come back positioned, in the order
 * Redis assigned their offsets: they go to its recovering clients (`own: true`), unless the
 * recorder handed them over already (Redis too slow, or the subscriber was away).
 */
export class Inbox {
  private readonly selfPrefix: string;

  constructor(
    selfId: string,
    private readonly filter: MessageFilter,
    private readonly recorder: Recorder | undefined,
    private readonly counters: Pick<AdapterCounters, 'received' | 'duplicates' | 'malformed'>,
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
    const message = decoded.message;
    if (own) {
      // Only positioned copies concern this instance: it delivered the plain frame itself.
      if (!('positioned' in message) || message.positioned === undefined) return;
      if (!this.recorder!.acceptOwn(decoded.seq)) return;
      message.own = true;
    }
    if (!this.filter.accept(decoded.origin, decoded.seq)) {
      this.counters.duplicates++;
      return;
    }
    if (!own) this.counters.received++;
    this.apply(message, decoded.origin);
  }
}
