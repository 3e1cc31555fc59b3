// The socket's on* handlers, not addEventListener: they fit both the DOM's and ws's types
// structurally, and detach in one assignment.
/* oxlint-disable unicorn/prefer-add-event-listener */
import {
  BEARER_SUBPROTOCOL_PREFIX,
  HUB_SUBPROTOCOL,
  RECOVERY_SUBPROTOCOL,
} from '../protocol/constants.js';
import { backoffDelay, RECONNECT_DEFAULTS } from './backoff.js';
import { CLIENT_TIMEOUT_CODE, closePolicy, type HubClosePolicy } from './close-policy.js';
import { HubDisconnectedError, HubQueueFullError, HubRequestError } from './errors.js';
import { createOutbox } from './outbox.js';
import { createPositions } from './positions.js';
import { createRequestTracker, type HubFrame } from './request-tracker.js';
import type {
  HubClientOptions,
  HubEventMap,
  HubState,
  HubStateChange,
  HubTimers,
  HubWebSocket,
  HubWebSocketConstructor,
  HubWelcome,
  WsHubClient,
} from './types.js';

type Listener = (...args: any[]) => void;

const STATE = Symbol();
const REJOIN = Symbol();
const QUEUE_FULL = Symbol();

const USER: HubClosePolicy = { action: 'stop', cause: 'user' };
const INVALID: HubClosePolicy = { action: 'stop', cause: 'invalid' };
const TIMEOUT: HubClosePolicy = { action: 'retry', cause: 'timeout' };
const TOKEN: HubClosePolicy = { action: 'retry', cause: 'token' };

const defaultTimers: HubTimers = {
  // Looked up at call time, so fake timers installed later still apply.
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/**
 * Creates a client and connects at once. It reconnects with backoff, rejoins its rooms, queues
 * while disconnected and correlates replies; see the README's client section. `url` may be a
 * function, called before every attempt (e.g. to rotate through several instances).
 */
export function createHubClient<
  ServerEvents extends HubEventMap = HubEventMap,
  ClientEvents extends HubEventMap = HubEventMap,
  Replies extends HubEventMap = HubEventMap,
>(
  url: string | (() => string),
  options: HubClientOptions = {},
): WsHubClient<ServerEvents, ClientEvents, Replies> {
  const Socket = (options.WebSocket ??
    (globalThis as { WebSocket?: HubWebSocketConstructor }).WebSocket) as HubWebSocketConstructor;
  if (!Socket) throw new TypeError('ws-hub/client: no global WebSocket; pass options.WebSocket');
  const {
    queue,
    getToken,
    timers = defaultTimers,
    random = Math.random,
    unreachableAfter = 3,
    requestTimeoutMs = 10_000,
    connectTimeoutMs = 10_000,
    pongTimeoutMs = 10_000,
  } = options;
  const backoff = { ...RECONNECT_DEFAULTS, ...options.reconnect };
  const maxMessages = queue === false ? 0 : (queue?.maxMessages ?? 100);
  const outbox = createOutbox(maxMessages);
  const tracker = createRequestTracker(timers);
  const listeners = new Map<string | symbol, Set<Listener>>();
  const rooms = new Set<string>();
  const positions = createPositions();
  const protocols =
    options.recovery === false ? [HUB_SUBPROTOCOL] : [HUB_SUBPROTOCOL, RECOVERY_SUBPROTOCOL];
  let recovered: boolean | undefined;
  let state: HubState = 'connecting';
  let socket: HubWebSocket | undefined;
  let welcome: HubWelcome | undefined;
  let attempt = 0; // retries since the last stable connection
  let failures = 0; // attempts in a row that never opened
  let seq = 0;
  let encoder: { encode(text: string): Uint8Array } | undefined;
  let retryTimer: unknown;
  let connectTimer: unknown;
  let stableTimer: unknown;
  let pingTimer: unknown;
  let pongTimer: unknown;

  const set = (fn: () => void, ms: number) => timers.setTimeout(fn, ms);
  const clear = (...handles: unknown[]) => {
    for (const handle of handles) if (handle !== undefined) timers.clearTimeout(handle);
  };
  const listen = (key: string | symbol, fn: Listener) => {
    let bucket = listeners.get(key);
    if (!bucket) listeners.set(key, (bucket = new Set()));
    bucket.add(fn);
    return () => {
      bucket.delete(fn);
    };
  };
  const emit = (key: string | symbol, ...args: unknown[]) => {
    for (const fn of listeners.get(key) ?? []) {
      try {
        fn(...args);
      } catch (error) {
        // A throwing listener must not break the client: report it like an event handler would.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };
  const change = (next: HubStateChange) => {
    state = next.state;
    emit(STATE, next);
  };

  function connect(): void {
    if (!getToken) return open(options.token);
    Promise.resolve()
      .then(getToken)
      .then(open, (error) => {
        if (state !== 'closed') down(1006, `getToken failed: ${error?.message ?? error}`, TOKEN);
      });
  }

  function open(token?: string): void {
    if (state === 'closed') return;
    let s: HubWebSocket;
    try {
      s = new Socket(
        typeof url === 'function' ? url() : url,
        token ? [...protocols, BEARER_SUBPROTOCOL_PREFIX + token] : protocols,
      );
    } catch (error) {
      // Reported in a microtask, so that listeners added right after createHubClient see it.
      return queueMicrotask(() => {
        if (state !== 'closed') down(1006, String(error), INVALID);
      });
    }
    socket = s;
    // `ws` emits 'error' before 'close' and throws when nobody listens: keep a listener forever.
    s.onerror = () => {};
    s.onclose = (event: { code: number; reason: string }) => down(event.code, event.reason);
    s.onmessage = (event: { data: unknown }) => receive(event.data);
    // On a recovery connection the server waits for the session and positions to resume.
    s.onopen = () => {
      if (s.protocol === RECOVERY_SUBPROTOCOL)
        s.send(JSON.stringify({ event: 'recover', data: positions.request(welcome, rooms) }));
    };
    connectTimer = set(() => kill('connect timeout'), connectTimeoutMs);
  }

  /** Ends the current attempt or connection; retries or closes per policy. */
  function down(
    code: number,
    reason: string,
    policy = closePolicy(code),
  ): HubWebSocket | undefined {
    const s = socket;
    if (s) s.onmessage = s.onclose = s.onopen = null;
    socket = undefined;
    clear(retryTimer, connectTimer, stableTimer, pingTimer, pongTimer);
    pongTimer = undefined;
    tracker.rejectAll(
      () => new HubDisconnectedError(`connection closed (${code} ${reason})`),
      false,
    );
    let { action, cause } = policy;
    if (
      state !== 'open' &&
      ++failures >= unreachableAfter &&
      action === 'retry' &&
      cause !== 'token'
    )
      cause = 'unreachable';
    if (action === 'stop') {
      const discarded = outbox.drain().length;
      tracker.rejectAll(() => new HubDisconnectedError(`client closed (${cause})`), true);
      change({ state: 'closed', code, reason, cause, willRetry: false, discarded });
    } else {
      const delayMs =
        backoffDelay(attempt++, backoff, random) + (action === 'slow' ? backoff.maxDelayMs : 0);
      retryTimer = set(connect, delayMs);
      change({ state: 'reconnecting', attempt, delayMs, code, reason, cause, willRetry: true });
    }
    return s;
  }

  /** Gives up on a socket that does not answer (half-open after a network change). */
  function kill(reason: string): void {
    down(CLIENT_TIMEOUT_CODE, reason, TIMEOUT)?.close(CLIENT_TIMEOUT_CODE, reason);
  }

  function receive(raw: unknown): void {
    let frame: HubFrame;
    try {
      frame = JSON.parse(raw as string);
    } catch {
      return;
    }
    if (typeof frame?.event !== 'string') return;
    clear(pongTimer); // any frame proves the connection alive
    pongTimer = undefined;
    if (state !== 'open') {
      if (frame.event === 'welcome') opened(frame.data);
      return;
    }
    if (frame.pos) {
      // A positioned push (recovery connections only): `replayed` tells a missed message.
      return emit(frame.event, frame.data, positions.frame(frame.pos));
    }
    if (frame.event === 'joined' && frame.data?.pos)
      positions.room(frame.data.room, frame.data.pos);
    if (!tracker.settle(frame) && (frame.event === 'error' || frame.id === undefined)) {
      emit(frame.event, frame.data);
    }
  }

  function opened(data: HubWelcome): void {
    clear(connectTimer);
    const plan = positions.welcome(data, socket!.protocol, rooms);
    recovered = plan.recovered;
    welcome = data;
    failures = 0;
    state = 'open';
    stableTimer = set(() => (attempt = 0), backoff.stableAfterMs);
    const every = options.pingIntervalMs ?? data.pingIntervalMs;
    const beat = () => {
      pingTimer = set(beat, every);
      if (pongTimer === undefined) {
        socket!.send(JSON.stringify({ event: 'ping', id: ++seq }));
        pongTimer = set(() => kill('pong timeout'), pongTimeoutMs);
      }
    };
    if (every > 0) pingTimer = set(beat, every);
    // A resumed session has its rooms back: rejoin only the others (all of them on plain v1).
    for (const room of plan.rejoin) {
      join(room).catch((error) => {
        if (error instanceof HubDisconnectedError) return; // retried on the next connection
        if (error instanceof HubRequestError) rooms.delete(room);
        emit(REJOIN, room, error);
      });
    }
    for (const room of plan.refused) rooms.delete(room);
    for (const room of plan.leave) rpc('leave', { room }).catch(() => {}); // left meanwhile
    for (const item of outbox.drain()) {
      socket!.send(item.frame);
      if (item.id !== undefined) tracker.markSent(item.id);
    }
    change({ state: 'open', welcome: data, recovered });
    for (const room of plan.refused)
      emit(REJOIN, room, new HubRequestError('FORBIDDEN', `room ${room} refused on resume`));
  }

  /** A join request; frames of the room's stream count from now on. */
  const join = (room: string) => positions.joining(room, rpc('join', { room }));

  /** Sends or queues a frame; returns the error when it can do neither. */
  function put(event: string, data: unknown, id?: number): Error | undefined {
    const frame = JSON.stringify({ event, id, data });
    const max = welcome?.maxPayloadBytes;
    if (max && frame.length * 3 > max && (encoder ??= new TextEncoder()).encode(frame).length > max)
      return new HubRequestError('PAYLOAD_TOO_LARGE', `frame larger than ${max} bytes`);
    if (state === 'open') socket!.send(frame);
    else if (state === 'closed' || queue === false)
      return new HubDisconnectedError(`not connected (${state})`);
    else if (!outbox.push({ frame, id })) {
      emit(QUEUE_FULL, { event, data });
      return new HubQueueFullError(`queue full (${maxMessages} messages)`);
    }
  }

  function rpc(event: string, data: unknown, timeoutMs = requestTimeoutMs): Promise<any> {
    const id = ++seq;
    try {
      const error = put(event, data, id);
      if (error) throw error;
    } catch (error) {
      return Promise.reject(error);
    }
    return tracker.add(id, timeoutMs, state === 'open', () => outbox.remove(id));
  }

  const client: WsHubClient<ServerEvents, ClientEvents, Replies> = {
    get state() {
      return state;
    },
    get welcome() {
      return welcome;
    },
    get rooms() {
      return new Set(rooms);
    },
    get recovered() {
      return recovered;
    },
    onState: (fn) => listen(STATE, fn),
    on: (event: string, fn: Listener) => listen(event, fn),
    onRejoinError: (fn) => listen(REJOIN, fn),
    onQueueFull: (fn) => listen(QUEUE_FULL, fn),
    send(event, data) {
      const error = put(event, data);
      if (error) throw error;
    },
    request: (event, data, opts) => rpc(event, data, opts?.timeoutMs),
    join: (room) =>
      join(room).then((reply) => {
        rooms.add(room);
        return reply;
      }),
    leave(room) {
      rooms.delete(room);
      positions.room(room);
      // A new connection has no membership to drop: nothing to tell the server.
      return state === 'open' ? rpc('leave', { room }) : Promise.resolve({ room });
    },
    close() {
      if (state !== 'closed') down(1000, 'closed by the client', USER)?.close(1000);
    },
  };
  connect();
  return client;
}
