import { HubRequestError, HubTimeoutError } from './errors.js';
import type { HubPosition, HubTimers } from './types.js';

/** A frame from the server, as parsed. */
export interface HubFrame {
  event: string;
  id?: number | string;
  data?: any;
  /** A push's positions in its streams (recovery connections). */
  pos?: Record<string, HubPosition>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: unknown;
  /** Written to a socket (as opposed to waiting in the outbox). */
  sent: boolean;
}

export type RequestTracker = ReturnType<typeof createRequestTracker>;

/** Requests waiting for their reply, by id, each with its timeout. */
export function createRequestTracker(timers: HubTimers) {
  const pending = new Map<number | string, Pending>();
  const take = (id: number | string) => {
    const p = pending.get(id);
    if (p) {
      pending.delete(id);
      timers.clearTimeout(p.timer);
    }
    return p;
  };
  return {
    get size() {
      return pending.size;
    },
    /** Tracks request `id`; on timeout, `onTimeout` runs and the promise rejects. */
    add(id: number, timeoutMs: number, sent: boolean, onTimeout: () => void): Promise<any> {
      return new Promise((resolve, reject) => {
        const timer = timers.setTimeout(() => {
          take(id);
          onTimeout();
          reject(new HubTimeoutError(`no reply to request ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer, sent });
      });
    },
    markSent(id: number): void {
      const p = pending.get(id);
      if (p) p.sent = true;
    },
    /** Settles the request a reply answers; false if none is pending under its id. */
    settle(frame: HubFrame): boolean {
      const p = frame.id === undefined ? undefined : take(frame.id);
      if (!p) return false;
      if (frame.event === 'error') {
        p.reject(new HubRequestError(String(frame.data?.code), String(frame.data?.message)));
      } else {
        p.resolve(frame.data);
      }
      return true;
    },
    /** Rejects the requests already sent (or all, when `all`). */
    rejectAll(error: () => Error, all: boolean): void {
      for (const [id, p] of pending) if (all || p.sent) take(id)!.reject(error());
    },
  };
}
