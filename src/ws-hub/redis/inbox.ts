import type { HubAdapterMessage, Recorded } from '../interfaces/cluster-adapter.interface.js';
import { ChannelMerge } from '../cluster/channel-merge.js';
import { decodeMessage, originPrefix, type DecodedMessage } from './codec.js';
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
  private readonly merge: ChannelMerge<DecodedMessage> | undefined;

  constructor(
    selfId: string,
    private readonly filter: MessageFilter,
    private readonly recorder: Recorder | undefined,
    private readonly counters: Pick<AdapterCounters, 'received' | 'duplicates' | 'malformed'>,
    private readonly apply: (message: HubAdapterMessage, origin: string) => void,
    /**
     * Cluster mode with recovery: a positioned message in several streams comes once per
     * stream's channel, each from its own node; it is applied once it is next on every one of
     * them that this instance hears (see `ChannelMerge`).
     */
    private readonly channels?: {
      of(stream: string): string;
      subscribed(channel: string): boolean;
      maxWaitMs: number;
    },
  ) {
    this.selfPrefix = originPrefix(selfId);
    if (channels) this.merge = new ChannelMerge((d) => this.deliver(d), channels.maxWaitMs);
  }

  /** Drops what waits for the copies of a message (shutdown). */
  clear(): void {
    this.merge?.clear();
  }

  receive(payload: string, channel = ''): void {
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
    const merge = this.merge;
    if (merge === undefined) {
      this.deliver(decoded);
      return;
    }
    if (this.filter.seen(decoded.origin, decoded.seq)) {
      this.counters.duplicates++;
      return;
    }
    const positions = 'positioned' in message ? message.positioned?.positions : undefined;
    const expected: string[] = [];
    if (positions) {
      for (const stream in positions) {
        const c = this.channels!.of(stream);
        if (this.channels!.subscribed(c)) expected.push(c);
      }
    }
    merge.arrive(channel, decoded.origin + ':' + decoded.seq, expected, decoded);
  }

  private deliver(decoded: DecodedMessage): void {
    const positioned = (decoded.message as Recorded).positioned;
    if (positioned) this.recorder?.floors.saw(positioned.positions);
    if (!this.filter.accept(decoded.origin, decoded.seq)) {
      this.counters.duplicates++;
      return;
    }
    if (!(decoded.message as Recorded).own) this.counters.received++;
    this.apply(decoded.message, decoded.origin);
  }
}
