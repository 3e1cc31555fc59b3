import { HUB_SUBPROTOCOL, RECOVERY_SUBPROTOCOL } from '../protocol/constants.js';
import { RECONNECT_DEFAULTS, retryDelay } from './backoff.js';
import {
  CLIENT_TIMEOUT_CODE,
  closePolicy,
  INVALID,
  REFUSED,
  RESTART,
  retryAfterMs,
  TIMEOUT,
  USER,
} from './close-policy.js';
import { createEmitter, reportListenerError } from './emitter.js';
import { HubDisconnectedError, HubRequestError } from './errors.js';
import { PROBE_TIMEOUT_MS, watchNetwork } from './network.js';
import { createOutbox } from './outbox.js';
import { createPositions } from './positions.js';
import { whenOpen } from './ready.js';
import { parseFrame } from './frame.js';
import { createRooms } from './rooms.js';
import { openSocket } from './socket.js';
import { createTokens } from './tokens.js';
import type { WsHubClient } from './api.js';
import type {
  HubClientOptions,
  HubEventMap,
  HubState,
  HubStateChange,
  HubTimers,
  HubWebSocket,
  HubWebSocketConstructor,
  HubWelcome,
} from './types.js';

const STATE = Symbol('onState');
const REJOIN = Symbol('onRejoinError');
const QUEUE_FULL = Symbol('onQueueFull');
const ROOMS = Symbol('onRooms');
const ANY = Symbol('onAny');

/**
 * Creates a client and connects (unless `autoConnect: false`). It reconnects with backoff,
 * rejoins its rooms, queues while disconnected, correlates replies and refreshes expiring
 * tokens; see the README's client section. `url` may be a list (one per attempt, in turn) or a
 * function called before every attempt.
 */
export function createHubClient<
  ServerEvents extends HubEventMap = HubEventMap,
  ClientEvents extends HubEventMap = HubEventMap,
  Replies extends HubEventMap = HubEventMap,
>(
  url: string | string[] | (() => string),
  options: HubClientOptions = {},
): WsHubClient<ServerEvents, ClientEvents, Replies> {
  const Socket = (options.WebSocket ??
    (globalThis as { WebSocket?: HubWebSocketConstructor }).WebSocket) as HubWebSocketConstructor;
  if (!Socket) throw new TypeError('no global WebSocket: pass options.WebSocket');
  const {
    // The global functions, looked up at each call: fake timers installed later still apply.
    timers = globalThis as unknown as HubTimers,
    random = Math.random,
    unreachableAfter = 3,
    requestTimeoutMs = 10_000,
    connectTimeoutMs = 10_000,
    pongTimeoutMs = 10_000,
  } = options;
  const backoff = { ...RECONNECT_DEFAULTS, ...options.reconnect };
  const emitter = createEmitter(options.onListenerError ?? reportListenerError);
  const { on, emit } = emitter;
  const positions = createPositions();
  const rooms = createRooms(
    () => emit(ROOMS, rooms.view),
    // Frames of the room's stream count from the join request on.
    (room) => positions.joining(room, put('join', { room }, requestTimeoutMs, room)),
  );
  const protocols =
    options.recovery === false ? [HUB_SUBPROTOCOL] : [HUB_SUBPROTOCOL, RECOVERY_SUBPROTOCOL];
  let recovered: boolean | undefined;
  let state: HubState = options.autoConnect === false ? 'closed' : 'connecting';
  let socket: HubWebSocket | undefined;
  let welcome: HubWelcome | undefined;
  let attempt = 0; // retries since the last stable connection
  let failures = 0; // attempts in a row that never opened
  let generation = 0; // bumped when an attempt ends: late results of the old one are dropped
  let urlIndex = 0; // with a list of URLs, each attempt takes the next one
  let retryTimer: unknown;
  let connectTimer: unknown;
  let stableTimer: unknown;
  let pingTimer: unknown;
  let pongTimer: unknown;

  const set = (fn: () => void, ms: number) => timers.setTimeout(fn, ms);
  const clear = (...handles: unknown[]) => {
    for (const handle of handles) timers.clearTimeout(handle);
  };
  const change = (next: HubStateChange) => {
    state = next.state;
    emit(STATE, next);
  };
  const push = (event: string, ...rest: unknown[]) => {
    emit(event, ...rest);
    emit(ANY, event, ...rest);
  };
  const outbox = createOutbox(options.queue, timers, {
    state: () => state,
    socket: () => socket,
    maxPayloadBytes: () => welcome?.maxPayloadBytes,
    queueFull: (event, data) => emit(QUEUE_FULL, { event, data }),
  });
  const { put } = outbox;
  const tokens = createTokens({
    ...options,
    emitter,
    current: () => socket,
    refresh: (token) => put('refresh', { token }, requestTimeoutMs),
    // Reported as 4401, what a server refusing the token at a handshake sends.
    refuse: (reason) => down(4401, reason, REFUSED)?.close(1000, 'token refused'),
  });

  /** Starts an attempt: the token (from `getToken` perhaps), then the socket. */
  function dial(): void {
    retryTimer = undefined;
    const mine = generation;
    tokens.next(
      (token) => mine === generation && open(token),
      (reason, policy) => mine === generation && down(1006, reason, policy),
    );
  }

  function open(token?: string): void {
    const mine = generation;
    try {
      socket = openSocket(
        Socket,
        typeof url === 'function' ? url() : Array.isArray(url) ? url[urlIndex++ % url.length] : url,
        protocols,
        token,
        (code, reason, status, retryAfter) =>
          down(code, reason, closePolicy(code, status), retryAfterMs(retryAfter, random)),
        receive,
        // On a recovery connection the server waits for the session and positions to resume.
        (s) => {
          if (s.protocol === RECOVERY_SUBPROTOCOL)
            s.send(JSON.stringify({ event: 'recover', data: positions.request() }));
        },
      );
    } catch (error) {
      // Reported in a microtask, so that listeners added right after createHubClient see it.
      return queueMicrotask(() => {
        if (mine === generation) down(1006, String(error), INVALID);
      });
    }
    connectTimer = set(() => kill('connect timeout'), connectTimeoutMs);
  }

  /** Skips the wait before the next attempt. */
  function redial(): void {
    clear(retryTimer);
    dial();
  }

  /** Ends the current attempt or connection; retries (waiting `waitMs` at least) or stops. */
  function down(
    code: number,
    reason: string,
    policy = closePolicy(code),
    waitMs = 0,
  ): HubWebSocket | undefined {
    const s = socket;
    // oxlint-disable-next-line unicorn/prefer-add-event-listener -- detached in one assignment
    if (s) s.onmessage = s.onclose = s.onopen = null;
    socket = undefined;
    generation++;
    clear(retryTimer, connectTimer, stableTimer, pingTimer, pongTimer);
    retryTimer = pongTimer = undefined;
    outbox.drop(
      () => new HubDisconnectedError(`connection closed (${code} ${reason})`),
      (item) => item.sent,
    );
    let { action, cause } = policy;
    if (
      state !== 'open' &&
      ++failures >= unreachableAfter &&
      action === 'retry' &&
      cause !== 'token'
    )
      cause = 'unreachable';
    tokens.closed(action === 'renew');
    if (action === 'stop') {
      const discarded = outbox.drop(() => new HubDisconnectedError(`client closed (${cause})`));
      watchNetwork(false, onNetwork);
      change({ state: 'closed', code, reason, cause, willRetry: false, discarded });
    } else {
      const delayMs = Math.max(waitMs, retryDelay(action, attempt, backoff, random));
      if (action !== 'restart') attempt++; // a drain is no failure: later backoffs stay short
      retryTimer = set(dial, delayMs);
      change({ state: 'reconnecting', attempt, delayMs, code, reason, cause, willRetry: true });
    }
    return s;
  }

  /**
   * Gives up on a socket that does not answer (half-open after a network change), or (with the
   * policy of 1012, `RESTART`: resume soon, not counted) on one that broke the continuity rule.
   */
  function kill(reason: string, policy = TIMEOUT): void {
    down(CLIENT_TIMEOUT_CODE, reason, policy)?.close(CLIENT_TIMEOUT_CODE, reason);
  }

  /** Leaves a room the server has and the app left meanwhile (nothing to report). */
  const leaveAgain = (room: string) => put('leave', { room }, requestTimeoutMs).catch(() => {});

  /** A frame broke the continuity rule: resume now, as the server asks with 1012. */
  const lost = () => kill('continuity lost', RESTART);

  /** Pings now; without any frame within `deadlineMs` the connection is dead. */
  function ping(deadlineMs: number): void {
    clear(pongTimer);
    // Id 0, which no request has: the pong settles nothing, and reaches no listener.
    socket!.send(JSON.stringify({ event: 'ping', id: 0 }));
    pongTimer = set(() => kill('pong timeout'), deadlineMs);
  }

  /** Back online: retry at once. Offline (or online on another network): check the connection now. */
  function onNetwork(event: { type: string }): void {
    if (event.type === 'online' && retryTimer !== undefined) redial();
    else if (state === 'open') ping(Math.min(pongTimeoutMs, PROBE_TIMEOUT_MS));
  }

  function receive(raw: unknown): void {
    const frame = parseFrame(raw);
    if (!frame) return;
    const { event, data, id } = frame;
    clear(pongTimer); // any frame proves the connection alive
    pongTimer = undefined;
    if (state !== 'open') {
      if (event === 'welcome') opened(data);
      return;
    }
    // A positioned frame (recovery connections only), by the continuity rule: `replayed` tells
    // a missed message; a `skip` carries none.
    if (frame.pos) {
      const next = positions.frame(frame.pos, frame.mid);
      if (!next) return lost();
      if (next > 1 && event !== 'skip') push(event, data, next > 2);
      return;
    }
    // Unsolicited `joined` / `left`: the server put the client in a room or took it out (its
    // position is followed, and presented on a resume).
    if (event === 'left' && id === undefined) positions.room(data?.room);
    if (event === 'joined' && data?.pos) {
      if (id === undefined) positions.room(data.room, data.pos);
      // Left while the join was on its way: the server has just joined it, leave it again.
      else if (!rooms.all.has(data.room)) leaveAgain(data.room);
      else if (!positions.room(data.room, data.pos)) return lost();
    }
    if (event === 'expiring' && id === undefined) return tokens.expiring(data);
    if (!outbox.settle(frame) && (event === 'error' || id === undefined)) push(event, data);
  }

  function opened(data: HubWelcome): void {
    clear(connectTimer);
    const plan = positions.welcome(data, rooms.all, rooms.pending);
    recovered = plan.recovered;
    welcome = data;
    failures = 0;
    state = 'open';
    tokens.expiry(data);
    stableTimer = set(() => (attempt = 0), backoff.stableAfterMs);
    const every = options.pingIntervalMs ?? data.pingIntervalMs;
    const beat = () => {
      pingTimer = set(beat, every);
      if (pongTimer === undefined) ping(pongTimeoutMs);
    };
    if (every > 0) pingTimer = set(beat, every);
    // A resumed session has its rooms back: rejoin only the others (all of them on plain v1),
    // but for those whose join is queued (flushed below).
    for (const room of plan.rejoin) {
      if (outbox.joining(room)) continue;
      (async () => rooms.join(room))().catch((error) => {
        if (!(error instanceof HubDisconnectedError)) emit(REJOIN, room, error); // else: next time
      });
    }
    for (const room of plan.refused) rooms.set(room, false);
    for (const room of plan.leave) leaveAgain(room); // left meanwhile
    outbox.flush();
    change({ state: 'open', welcome: data, recovered });
    for (const room of plan.refused)
      emit(REJOIN, room, new HubRequestError('FORBIDDEN', `room ${room} refused on resume`));
  }

  /** `onState`, `onAny`, ...: a listener of one built-in key. */
  const listen =
    (key: symbol) =>
    (fn: (...args: any[]) => void): (() => void) =>
      on(key, fn);

  const client: WsHubClient<ServerEvents, ClientEvents, Replies> = {
    get state() {
      return state;
    },
    get welcome() {
      return welcome;
    },
    get rooms() {
      return rooms.view;
    },
    get recovered() {
      return recovered;
    },
    get tokenExpiresAt() {
      return tokens.expiresAt;
    },
    onState: listen(STATE),
    ready: () => whenOpen(client),
    // (`on` itself: its third parameter, `once`, is not in the client's type.)
    on: on as WsHubClient<ServerEvents, ClientEvents, Replies>['on'],
    once: (event: string, fn: (...args: any[]) => void) => on(event, fn, true),
    off: emitter.off,
    onAny: listen(ANY),
    onRejoinError: listen(REJOIN),
    onQueueFull: listen(QUEUE_FULL),
    onRooms: listen(ROOMS),
    onTokenRefresh: tokens.onRefresh,
    send(event: string, data?: unknown) {
      const sent = (async () => put(event, data))();
      sent.catch(() => {}); // fire and forget: an ignored failure is no unhandled rejection
      return sent;
    },
    request: async (event: string, ...[data, opts]: any[]) =>
      put(event, data, opts?.timeoutMs ?? requestTimeoutMs),
    join: rooms.add,
    async leave(room) {
      rooms.set(room, false);
      positions.room(room);
      outbox.drop(
        () => new HubDisconnectedError(`left ${room}`),
        (item) => !item.sent && item.room === room,
      );
      // A new connection has no membership to drop: nothing to tell the server.
      return state === 'open' ? put('leave', { room }, requestTimeoutMs) : { room };
    },
    connect() {
      if (state === 'closed') {
        attempt = failures = 0;
        watchNetwork(true, onNetwork);
        change({ state: 'connecting' });
        dial();
      } else if (retryTimer !== undefined) redial();
    },
    setToken: tokens.set,
    close() {
      if (state !== 'closed') down(1000, 'closed by the client', USER)?.close(1000);
    },
  };
  if (state !== 'closed') {
    watchNetwork(true, onNetwork);
    dial();
  }
  return client;
}
