import type { FrameMessage } from '../core/delivery-strategy.js';
import { OutgoingFrame } from '../core/frame-writer.js';
import { ALL_STREAM, clientStream, roomStream, userStream } from '../protocol/streams.js';
import type { MemoryRecoveryStore } from './memory-store.js';
import { PositionedMessage } from './positioned-message.js';
import { RecoveringDelivery, type RecoveryDeps } from './recovering-delivery.js';

/**
 * Recovery on a single instance: each message is appended to its streams in memory (those some
 * session can resume) as it is published, and the positioned frame goes out with the plain one,
 * synchronously: nothing is ever in flight, so there is no seam to mind.
 */
export class LocalHistoryDelivery extends RecoveringDelivery {
  readonly idsMove = false;
  readonly distributed = false;

  constructor(
    deps: RecoveryDeps,
    private readonly memory: MemoryRecoveryStore,
  ) {
    super(deps);
  }

  broadcast(frame: OutgoingFrame, rooms: string[] | undefined, except: string[] | undefined) {
    const streams = rooms ? [...new Set(rooms)].map(roomStream) : [ALL_STREAM];
    return this.deps.delivery.broadcast(this.message(frame, streams, except), rooms, except);
  }

  send(clientId: string, frame: OutgoingFrame): boolean {
    const client = this.deps.registry.get(clientId);
    // A session that can still be resumed keeps its direct messages for the next connection.
    if (!client && !this.memory.isResumable(clientId)) return false;
    const message = this.message(frame, [clientStream(clientId)], undefined);
    if (client) this.deps.delivery.message(client, message);
    return true;
  }

  toUser(userId: string, frame: OutgoingFrame): number {
    return this.deps.delivery.toUser(userId, this.message(frame, [userStream(userId)], undefined));
  }

  /** One instance: nothing comes from elsewhere (a single-instance adapter publishes nothing). */
  applyRemote(message: FrameMessage): void {
    if (message.type === 'broadcast') {
      const plain = { plain: new OutgoingFrame(message.frame), forReceivers: undefined };
      this.deps.delivery.broadcast(plain, message.rooms, message.except);
    }
  }

  barrier(): undefined {
    return undefined;
  }

  observed(): void {}

  private message(frame: OutgoingFrame, streams: string[], except: string[] | undefined) {
    const appended = this.memory.history.append(streams, frame.text, except);
    return {
      plain: frame,
      forReceivers: appended
        ? new PositionedMessage(frame.text, appended.positions, appended.text, except)
        : undefined,
    };
  }
}
