import { expect } from 'vitest';
import { createHubClient } from '../../../src/ws-hub/client/index.js';
import type {
  HubClientOptions,
  HubStateChange,
  HubWebSocket,
} from '../../../src/ws-hub/client/index.js';

export const WELCOME = {
  clientId: 'c1',
  userId: 'alice',
  pingIntervalMs: 25_000,
  protocol: 1,
  maxPayloadBytes: 65_536,
};

/** A WebSocket the test drives from the server's side. */
export class FakeSocket implements HubWebSocket {
  /** Frames the client sent, parsed. */
  readonly sent: any[] = [];
  closedWith?: { code?: number; reason?: string };
  /** The subprotocol the server picked; set by `open()`. */
  protocol = '';
  onopen: ((event: any) => void) | null = null;
  onmessage: ((event: any) => void) | null = null;
  onclose: ((event: any) => void) | null = null;
  onerror: ((event: any) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  /** The handshake completes; the server picked `protocol` (`ws-hub.recovery`: recovery on). */
  open(protocol = 'ws-hub.v1'): void {
    this.protocol = protocol;
    this.onopen?.({});
  }

  /** The server sends a frame. */
  push(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  welcome(extra: object = {}): void {
    this.push({ event: 'welcome', data: { ...WELCOME, ...extra } });
  }

  /** The server (or the network) closes the connection. */
  drop(code: number, reason = ''): void {
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }

  /** The last frame sent with `event`. */
  last(event: string): any {
    return [...this.sent].reverse().find((frame) => frame.event === event);
  }

  /** Answers the last `event` request with `replyEvent` and `data`. */
  reply(event: string, replyEvent: string, data?: unknown): void {
    this.push({ event: replyEvent, id: this.last(event).id, data });
  }
}

/**
 * A socket that, like `ws`'s in Node, shows the HTTP answer of a refused handshake through the
 * EventEmitter event `'unexpected-response'`.
 */
export class FakeWsSocket extends FakeSocket {
  readonly listeners = new Map<string, (...args: any[]) => void>();

  on(event: string, listener: (...args: any[]) => void): this {
    this.listeners.set(event, listener);
    return this;
  }

  /**
   * The server answers the upgrade with an HTTP status: `'unexpected-response'` (whose
   * listener aborts the handshake), then, as `ws` does, a 1006 close.
   */
  refuse(status: number, headers: Record<string, string> = {}): void {
    this.listeners.get('unexpected-response')?.({}, { statusCode: status, headers });
    this.drop(1006);
  }
}

/** A client on fake sockets (`Base`: `FakeWsSocket` for Node's `ws`); `sockets` lists them. */
export function setup<T extends FakeSocket = FakeSocket>(
  options: HubClientOptions = {},
  url: string | string[] | (() => string) = 'ws://hub.test/ws',
  Base: new (url: string, protocols?: string | string[]) => T = FakeSocket as never,
) {
  const sockets: T[] = [];
  class WebSocket extends (Base as new (url: string, protocols?: string | string[]) => FakeSocket) {
    constructor(u: string, protocols?: string | string[]) {
      super(u, protocols);
      sockets.push(this as unknown as T);
    }
  }
  const changes: HubStateChange[] = [];
  const client = createHubClient(url, { WebSocket, random: () => 0.5, ...options });
  client.onState((change) => changes.push(change));
  return {
    client,
    sockets,
    changes,
    get socket(): T {
      return sockets.at(-1)!;
    },
    get lastChange(): HubStateChange | undefined {
      return changes.at(-1);
    },
  };
}

/** Lets promise chains run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Captures a promise's outcome without leaving a rejection unhandled. */
export function capture<T>(promise: Promise<T>) {
  const result: { settled: boolean; value?: T; error?: any } = { settled: false };
  promise.then(
    (value) => Object.assign(result, { settled: true, value }),
    (error) => Object.assign(result, { settled: true, error }),
  );
  return result;
}

/** A client open on a hub: set up, then welcomed. */
export function openClient(options: HubClientOptions = {}) {
  const h = setup(options);
  h.socket.welcome();
  return h;
}

/** A recovery server's positions of streams, by stream. */
export type Streams = Record<string, { epoch: string; offset: number; recovered?: boolean }>;

/** The streams of a first connection to a recovery server (client `c1` of user `alice`). */
export const FIRST_STREAMS: Streams = {
  all: { epoch: 'eAll', offset: 10 },
  'client:c1': { epoch: 'eC1', offset: 0 },
  'user:alice': { epoch: 'eU', offset: 4 },
};

/** The welcome of a recovery server (the client's id is `c1` unless `clientId` says otherwise). */
export function welcomeRecovering(
  socket: FakeSocket,
  recovery: { session: string; recovered: boolean; streams: Streams; refusedRooms?: string[] },
  clientId = 'c1',
): void {
  socket.push({
    event: 'welcome',
    data: { ...WELCOME, clientId, recovery: structuredClone(recovery) },
  });
}

/** A client open on a recovery server, first connection, in `rooms` at offset 3. */
export async function openRecovering(rooms: string[]) {
  const h = setup({ pingIntervalMs: 0 });
  h.socket.open('ws-hub.recovery');
  welcomeRecovering(h.socket, { session: 'S1', recovered: false, streams: FIRST_STREAMS });
  for (const room of rooms) {
    const r = capture(h.client.join(room));
    h.socket.reply('join', 'joined', { room, pos: [3, `e-${room}`] });
    await flush();
    expect(r.value).toEqual({ room, pos: [3, `e-${room}`] });
  }
  return h;
}
