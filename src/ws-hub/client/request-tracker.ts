import { HubRequestError, HubTimeoutError } from './errors.js';
import type { HubPosition, HubTimers } from './types.js';

/** A frame from the server, as parsed. */
export interface HubFrame {
  event: string;
  id?: number | string;
  data?: any;
  /** A push's positions in its streams (recovery connections). */
  pos?: Record<string, HubPosition>;
  /** Redis Cluster: the message's id, the same on each of its copies (one per room). */
  mid?: unknown;
}

/** A text frame parsed as an envelope (`event` a string); `undefined` for anything else. */
export function parseFrame(raw: unknown): HubFrame | undefined {
  try {
    const frame = JSON.parse(raw as string);
    return typeof frame?.event === 'string' ? frame : undefined;
  } catch {
    return undefined;
  }
}

/** A request written to a socket, waiting for its reply. */
export interface SentRequest {
  id: number;
  timeoutMs: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer?: unknown;
}

export type RequestTracker = ReturnType<typeof createRequestTracker>;

/** Requests written and waiting for their reply, by id, each with its reply timeout. */
export function createRequestTracker(timers: HubTimers) {
  const pending = new Map<number | string, SentRequest>();
  const take = (id: number | string) => {
    const p = pending.get(id);
    if (p) {
      pending.delete(id);
      timers.clearTimeout(p.timer);
    }
    return p;
  };
  return {
    /** Tracks a request just written: its timeout starts now. */
    add(request: SentRequest): void {
      const { id, timeoutMs } = request;
      request.timer = timers.setTimeout(() => {
        take(id);
        request.reject(new HubTimeoutError(`no reply to request ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, request);
    },
    /** Settles the request a reply answers; false if none is pending under its id. */
    settle(frame: HubFrame): boolean {
      const p = frame.id === undefined ? undefined : take(frame.id);
      if (!p) return false;
      const { event, data } = frame;
      if (event === 'error')
        p.reject(new HubRequestError(String(data?.code), String(data?.message), data?.details));
      else p.resolve(data);
      return true;
    },
    /** Rejects every pending request. */
    rejectAll(error: () => Error): void {
      for (const id of pending.keys()) take(id)!.reject(error());
    },
  };
}
