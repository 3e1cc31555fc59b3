import {
  HubDisconnectedError,
  HubQueueExpiredError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from './errors.js';
import type { HubFrame } from './frame.js';
import type { HubClientOptions, HubState, HubTimers, HubWebSocket } from './types.js';

/** A frame waiting for the connection, already serialized, with its caller's promise. */
export interface OutboxItem {
  frame: string;
  /** A request's id and reply timeout (counted from when it is written). */
  id?: number;
  timeoutMs?: number;
  /** A join's room. */
  room?: string;
  resolve(value?: unknown): void;
  reject(error: Error): void;
  /** Its expiry while queued, its reply timeout once written. */
  timer?: unknown;
  /** A request written to a socket, waiting for its reply. */
  sent?: boolean;
}

/** What the outbox needs of the client. */
export interface OutboxLink {
  state(): HubState;
  /** The open connection's socket. */
  socket(): HubWebSocket | undefined;
  /** The server's frame limit, from the last welcome. */
  maxPayloadBytes(): number | undefined;
  /** A frame refused because the queue is full. */
  queueFull(event: string, data: unknown): void;
}

export type Outbox = ReturnType<typeof createOutbox>;

/**
 * The way out: writes a frame when open, else queues it, and matches replies to the requests
 * written (each with its reply timeout, counted from the write). The queue holds `queue.maxMessages` items (default 100), flushed in order on open;
 * each waits at most `queue.maxAgeMs` (default 30 000, `Infinity`: forever), then fails with
 * `HubQueueExpiredError`, unsent. `queue: false`: nothing waits.
 */
export function createOutbox(
  queue: HubClientOptions['queue'],
  timers: HubTimers,
  link: OutboxLink,
) {
  const maxMessages = queue === false ? 0 : (queue?.maxMessages ?? 100);
  const maxAgeMs = (queue || {}).maxAgeMs ?? 30_000;
  let items: OutboxItem[] = [];
  let seq = 0;
  let encoder: { encode(text: string): Uint8Array } | undefined;

  /** Removes and returns the items `match` selects, their timers cleared. */
  const take = (match: (item: OutboxItem) => unknown) => {
    const taken = items.filter(match);
    items = items.filter((item) => !match(item));
    for (const item of taken) timers.clearTimeout(item.timer);
    return taken;
  };
  /** Fails an item: queued too long, or no reply in time. */
  const fail = (item: OutboxItem, error: Error) => {
    take((i) => i === item);
    item.reject(error);
  };
  /** Writes a frame; a request waits for its reply from now on. */
  const write = (item: OutboxItem) => {
    link.socket()!.send(item.frame);
    if (item.id === undefined) return item.resolve();
    item.sent = true;
    items.push(item);
    item.timer = timers.setTimeout(
      () =>
        fail(
          item,
          new HubTimeoutError(`no reply to request ${item.id} within ${item.timeoutMs} ms`),
        ),
      item.timeoutMs!,
    );
  };

  return {
    /** Settles the request a reply answers; false if none is waiting under its id. */
    settle(frame: HubFrame): boolean {
      const [request] = take((item) => item.sent && item.id === frame.id);
      const { event, data } = frame;
      if (event === 'error')
        request?.reject(
          new HubRequestError(String(data?.code), String(data?.message), data?.details),
        );
      else request?.resolve(data);
      return !!request;
    },
    /**
     * Writes a frame now or queues it, or throws when it can do neither. Resolves once written,
     * or for a request (`timeoutMs` given) with the reply's data.
     */
    put(event: string, data: unknown, timeoutMs?: number, room?: string): Promise<any> {
      const id = timeoutMs === undefined ? undefined : ++seq; // from 1: pings use 0
      const frame = JSON.stringify({ event, id, data });
      const max = link.maxPayloadBytes();
      const state = link.state();
      if (
        max &&
        frame.length * 3 > max &&
        (encoder ??= new TextEncoder()).encode(frame).length > max
      )
        throw new HubRequestError('PAYLOAD_TOO_LARGE', `frame larger than ${max} bytes`);
      if (state === 'closed' || (state !== 'open' && queue === false))
        throw new HubDisconnectedError(`not connected (${state})`);
      let item!: OutboxItem;
      const settled = new Promise((resolve, reject) => {
        item = { frame, id, timeoutMs, room, resolve, reject };
      });
      if (state === 'open') write(item);
      else if (items.length < maxMessages) {
        items.push(item);
        if (maxAgeMs < Infinity)
          item.timer = timers.setTimeout(
            () =>
              fail(
                item,
                new HubQueueExpiredError(
                  `${event} not sent: no connection within ${maxAgeMs} ms (queue.maxAgeMs)`,
                ),
              ),
            maxAgeMs,
          );
      } else {
        link.queueFull(event, data);
        throw new HubQueueFullError(`queue full (${maxMessages} messages)`);
      }
      return settled;
    },
    /** Writes what was queued, in order (on open). */
    flush(): void {
      for (const item of take((i) => !i.sent)) write(item);
    },
    /** Whether a join of `room` is queued (or written: none is, on open). */
    joining: (room: string) => items.some((item) => item.room === room),
    /**
     * Rejects with `error()` the items `match` selects (by default all the queued ones; `sent`:
     * the requests written and waiting for their reply); returns how many.
     */
    drop(error: () => Error, match: (item: OutboxItem) => unknown = (item) => !item.sent): number {
      const taken = take(match);
      for (const item of taken) item.reject(error());
      return taken.length;
    },
  };
}
