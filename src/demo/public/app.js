// The demo page. It uses the library only through its public entry point, `ws-hub/client`,
// which the demo serves bundled as `hub-client.js`: reconnecting, rejoining rooms, queueing
// while disconnected and matching replies are the client's work, not this page's.
import { createHubClient, RECONNECT_DEFAULTS } from './hub-client.js';

const $ = (id) => document.getElementById(id);
const { hubPath, hubAuth, hubAuthFailure } = document.body.dataset;

const endpoint = (() => {
  const url = new URL(hubPath, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
})();

/** The client of the current connection; replaced by Connect (old ones are ignored). */
let client;
/** In-band token refreshes of the current client. */
let tokenRefreshes = 0;
/** Whether the current client has been open before (an open after that is a reconnect). */
let hadOpen = false;
/** The client id of the current client's last open: a reconnect with the same one resumed its session. */
let lastClientId;
/** Opens of the current client after its first one. */
let reconnects = 0;
/** When the current connection opened (performance.now()), while it is or was last open. */
let openedAt;
/**
 * The current outage, from the first retry after a drop to the next open: the page counts its
 * attempts itself (the client's `attempt` keeps counting across drops until a connection has
 * stayed up for `stableAfterMs`, to keep its backoff growing while a server flaps).
 */
let outage; // { attempts, again, upMs }
/** Page-side status of each room: `pending`, `joined`, `rejoining` or `failed`. */
const rooms = new Map();
/** Requests made while disconnected and not settled yet. */
let queued = 0;
let retry; // { at } while reconnecting
let countdownTimer;
/** After a resumed reconnect: the missed messages replayed so far, and the log line counting them. */
let recovery; // { count, line }
/** The last answer of GET /stats (online counts, cluster, adapter). */
let lastStats;

// ---------------------------------------------------------------------------------------------
// Text

const ERROR_TEXT = {
  FORBIDDEN: 'not allowed',
  RATE_LIMITED: 'rate limited, slow down',
  BAD_ENVELOPE: 'invalid request',
  BAD_JSON: 'invalid JSON',
  UNKNOWN_EVENT: 'unknown event',
  PAYLOAD_TOO_LARGE: 'too large',
  INTERNAL: 'server error',
};

/** A readable sentence for any error the client rejects with. */
function explain(error) {
  switch (error?.name) {
    case 'HubRequestError':
      return `${ERROR_TEXT[error.code] ?? error.code}: ${error.message}`;
    case 'HubTimeoutError':
      return 'no reply in time (the server is down or slow)';
    case 'HubQueueFullError':
      return 'the offline queue is full';
    case 'HubDisconnectedError':
      return /client closed/.test(error.message)
        ? 'the connection was closed before it could be sent'
        : 'the connection dropped before the reply';
    default:
      return error?.message ?? String(error);
  }
}

/** What a close means, in words. */
function describeClose({ code, reason, cause }) {
  const detail = reason ? `${code} ${reason}` : String(code);
  switch (cause) {
    case 'user':
      return 'closed by you';
    case 'refused':
      return code === 4403
        ? `refused: this page's origin is not allowed (${detail})`
        : `refused: bad or missing token (${detail})`;
    case 'restart':
      return `the server is restarting: reconnecting, to another instance if there is one (${detail})`;
    case 'server':
      return `closed by the server (${detail})`;
    case 'policy':
      return `closed by the server for breaking its limits (${detail})`;
    case 'unreachable':
      return 'server unreachable';
    case 'timeout':
      return `no answer from the server (${reason})`;
    case 'token':
      return `could not get a token (${reason})`;
    case 'expired':
      return `token expired (${detail}): reconnecting with the token in the field`;
    case 'revoked':
      return `access revoked by the server (${detail})`;
    case 'invalid':
      return `cannot connect: ${reason}`;
    case 'replaced':
      return `taken over: a newer connection resumed this session (${detail})`;
    default:
      if (code === 1001) return 'the server went away (restart or shutdown, 1001)';
      if (code === 1006) return 'connection lost (1006)';
      if (code === 1011) return 'server error (1011)';
      if (code === 1013) return 'server overloaded (1013)';
      return `connection closed (${detail})`;
  }
}

function seconds(ms) {
  return ms < 1000 ? `${(Math.max(ms, 0) / 1000).toFixed(1)} s` : `${Math.ceil(ms / 1000)} s`;
}

function quote(text) {
  return `“${text}”`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Log

const TAGS = {
  connect: ['connection', 'connected'],
  disconnect: ['connection', 'disconnected'],
  retry: ['connection', 'retrying'],
  room: ['room', 'room'],
  broadcast: ['broadcast', 'broadcast'],
  replayed: ['broadcast', 'replayed'],
  recovered: ['connection', 'recovered'],
  lost: ['connection', 'not recovered'],
  message: ['message', 'ack'],
  queued: ['message', 'queued'],
  error: ['error', 'error'],
  token: ['connection', 'token'],
};

function clock() {
  const d = new Date();
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Adds a line; a `retry` line replaces the previous one when it is the last, to keep it short.
 * Returns the line's text element.
 */
function log(tag, text) {
  const box = $('log-box');
  const list = $('log');
  const [group, label] = TAGS[tag];
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  let li = list.lastElementChild;
  if (!(tag === 'retry' && li?.dataset.tag === 'retry')) {
    li = document.createElement('li');
    li.append(document.createElement('time'), document.createElement('span'));
    li.append(document.createElement('span'));
    list.append(li);
  }
  li.className = `k-${group}`;
  li.dataset.tag = tag;
  const [time, badge, body] = li.children;
  time.textContent = clock();
  badge.className = `tag ${tag}`;
  badge.textContent = label;
  body.className = 'text';
  body.textContent = text;
  while (list.children.length > 300) list.firstElementChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight;
  return body;
}

// ---------------------------------------------------------------------------------------------
// Refused input: a sentence next to the field (role="alert"), the field marked invalid

function refuse(inputId, text, focus = true) {
  const input = $(inputId);
  $(`${inputId}-error`).textContent = text;
  input.setAttribute('aria-invalid', 'true');
  if (focus) input.focus();
}

function accept(inputId) {
  $(`${inputId}-error`).textContent = '';
  $(inputId).removeAttribute('aria-invalid');
}

/** What a WebSocket subprotocol may carry (RFC 7230 token characters). */
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NOT_CONNECTED = 'Not connected: press Connect first.';

// ---------------------------------------------------------------------------------------------
// Rendering

function setStatus(tone, state, parts, detail, detailTone) {
  const status = $('status');
  status.dataset.tone = tone;
  status.dataset.state = state;
  const label = $('state');
  label.replaceChildren(
    ...parts.map(([text, hidden]) => {
      const span = document.createElement('span');
      span.textContent = text;
      if (hidden) {
        // The countdown changes every second: seen, but not announced each time.
        span.className = 'countdown';
        span.setAttribute('aria-hidden', 'true');
      }
      return span;
    }),
  );
  $('state-detail').textContent = detail;
  $('state-detail').dataset.tone = detailTone ?? '';
}

function renderCountdown() {
  const countdown = document.querySelector('#state .countdown');
  if (!retry || !countdown) return;
  const left = retry.at - performance.now();
  countdown.textContent = left > 0 ? ` in ${seconds(left)}` : ' now';
}

/** Marks a button unavailable without disabling it: it keeps the focus and says why. */
function available(button, yes, why = '') {
  if (yes) button.removeAttribute('aria-disabled');
  else button.setAttribute('aria-disabled', 'true');
  button.title = why;
}

function renderControls() {
  const state = client?.state ?? 'closed';
  const open = state === 'open';
  const closed = state === 'closed';
  // While not open, the ids are those of the last connection.
  $('facts').dataset.stale = String(!open);
  $('connect').textContent = closed
    ? 'Connect'
    : state === 'reconnecting'
      ? 'Retry now'
      : 'Reconnect';
  available($('disconnect'), !closed, closed ? 'Not connected' : '');
  for (const id of ['send', 'join']) {
    available($(id), !closed, closed ? NOT_CONNECTED : open ? '' : 'Queued until reconnected');
  }
  $('send').textContent = open || closed ? 'Send' : 'Queue';
  $('join').textContent = open || closed ? 'Join' : 'Queue join';
  const badge = $('queued');
  badge.hidden = queued === 0;
  badge.textContent = `${queued} queued · sent on reconnect`;
}

const ROOM_NOTES = {
  pending: 'joining…',
  rejoining: 'rejoins on reconnect',
  failed: 'rejoin refused',
};

function chip(room) {
  const li = document.createElement('li');
  li.className = 'chip';
  li.dataset.room = room;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = room;
  const note = document.createElement('span');
  note.className = 'note';
  const leave = document.createElement('button');
  leave.type = 'button';
  leave.textContent = '×';
  leave.setAttribute('aria-label', `Leave room ${room}`);
  leave.title = `Leave ${room}`;
  leave.addEventListener('click', () => leaveRoom(room));
  li.append(name, note, leave);
  return li;
}

/**
 * Updates the room chips in place (sorted by name): a chip that stays is never rebuilt or
 * moved, so a focused leave button keeps the focus through every state change.
 */
function renderRooms() {
  const list = $('rooms');
  const chips = new Map([...list.querySelectorAll('.chip')].map((li) => [li.dataset.room, li]));
  list.querySelector('.empty')?.remove();
  let previous = null;
  for (const [room, status] of [...rooms].sort(([a], [b]) => a.localeCompare(b))) {
    const li = chips.get(room) ?? chip(room);
    chips.delete(room);
    li.dataset.status = status;
    li.querySelector('.note').textContent = ROOM_NOTES[status] ? `· ${ROOM_NOTES[status]}` : '';
    const place = previous ? previous.nextSibling : list.firstChild;
    if (li !== place) list.insertBefore(li, place);
    previous = li;
  }
  for (const li of chips.values()) li.remove();
  if (rooms.size === 0) {
    const li = document.createElement('li');
    li.className = 'empty muted';
    li.textContent = 'none yet';
    list.append(li);
  }
  // broadcast targets: everyone, or one of the rooms
  const target = $('target');
  const selected = target.value;
  target.replaceChildren(new Option('everyone', ''));
  for (const [room, status] of rooms) {
    if (status !== 'failed') target.append(new Option(`room ${room}`, room));
  }
  target.value = [...target.options].some((o) => o.value === selected) ? selected : '';
}

function renderWelcome(welcome) {
  $('clientId').textContent = welcome?.clientId ?? '-';
  $('userId').textContent = welcome ? (welcome.userId ?? 'anonymous') : '-';
  renderTokenLife();
}

/**
 * The token's remaining lifetime (the client's `tokenExpiresAt`, on this page's clock: the
 * server's `expiresInMs` from when its frame arrived) and how many in-band refreshes it had.
 */
function renderTokenLife() {
  const at = client?.state === 'open' ? client.tokenExpiresAt : undefined;
  const out = $('tokenLife');
  if (at === undefined) {
    out.textContent = client?.state === 'open' ? 'does not expire' : '-';
    out.dataset.tone = '';
    return;
  }
  const left = at - Date.now();
  out.textContent =
    `expires in ${seconds(left)}` +
    (tokenRefreshes ? ` · refreshed ${plural(tokenRefreshes, 'time')}` : '');
  out.dataset.tone = left < 30_000 ? 'bad' : '';
}

/** An in-band refresh (the server sent `expiring`; the client answered with `getToken`). */
function onTokenRefresh({ expiresAt, ok, error }) {
  if (ok) {
    tokenRefreshes++;
    log(
      'token',
      expiresAt === undefined
        ? 'token refreshed: it no longer expires'
        : `token refreshed in-band: expires in ${seconds(expiresAt - Date.now())}`,
    );
  } else {
    log('error', `token refresh failed: ${explain(error)}`);
  }
  renderTokenLife();
}

function missed(count) {
  return `recovered ${plural(count, 'missed message')}`;
}

/**
 * What message recovery did on this open (`recovered` is undefined on a server without it):
 * a reconnect either got back every missed message (replayed next, counted as they come) or
 * the app must refetch its state.
 */
function renderRecovery(recovered, reconnect) {
  const out = $('recovery');
  recovery = undefined;
  out.dataset.recovered = String(recovered);
  if (recovered === undefined) {
    out.textContent = 'off on this server';
  } else if (!reconnect) {
    out.textContent = 'on · new session';
  } else if (recovered) {
    recovery = { count: 0, line: log('recovered', `session resumed: ${missed(0)}`) };
    out.textContent = missed(0);
  } else {
    out.textContent = 'not recovered: refetch';
    log(
      'lost',
      'not recovered: refetch (the session expired or the server lost its history:' +
        ' messages sent while disconnected are gone)',
    );
  }
}

/** A missed message replayed after a resumed reconnect. */
function countReplayed() {
  if (!recovery) return;
  recovery.count++;
  recovery.line.textContent = `session resumed: ${missed(recovery.count)}`;
  $('recovery').textContent = missed(recovery.count);
}

// ---------------------------------------------------------------------------------------------
// Connection

function onOpen(change) {
  const { welcome } = change;
  const reconnect = hadOpen;
  if (reconnect) reconnects++;
  openedAt = performance.now();
  outage = undefined;
  renderWelcome(welcome);
  const as = `Connected as ${welcome.userId ?? 'an anonymous user'}.`;
  setStatus(
    'ok',
    'open',
    [['Open']],
    reconnect && change.recovered === true
      ? `${as} Session resumed: the messages missed meanwhile are replayed.`
      : reconnect && change.recovered === false
        ? `${as} Not recovered: messages sent while disconnected are lost; refetch.`
        : as,
  );
  log('connect', `${reconnect ? 'reconnected' : 'connected'} as ${welcome.clientId}`);
  renderRecovery(change.recovered, reconnect);
  // Rooms come back with a resumed session (same client id); otherwise they are joined again:
  // by the client, or by the server for the rooms the client presented to a session it no
  // longer has (those are in the welcome's streams too, as fresh joins).
  const resumed = reconnect && welcome.clientId === lastClientId;
  lastClientId = welcome.clientId;
  const streams = (resumed && welcome.recovery?.streams) || {};
  const rejoined = [];
  const restored = [];
  for (const room of client.rooms) {
    if (rooms.get(room) === 'rejoining')
      (`room:${room}` in streams ? restored : rejoined).push(room);
    rooms.set(room, 'joined');
  }
  if (rejoined.length) log('room', `rejoined ${rejoined.join(', ')}`);
  if (restored.length) log('room', `${restored.join(', ')} restored with the session`);
  hadOpen = true;
  void refreshStats();
}

function onReconnecting(change) {
  const unreachable = change.cause === 'unreachable';
  if (!outage) {
    // A new outage. Dropping again soon after a reconnect is worth saying (a flapping server,
    // a proxy that cuts): the client's backoff keeps growing meanwhile.
    const upMs = openedAt === undefined ? undefined : performance.now() - openedAt;
    const again = reconnects > 0 && upMs !== undefined && upMs < RECONNECT_DEFAULTS.stableAfterMs;
    outage = { attempts: 0, again, upMs };
  }
  outage.attempts++;
  const { attempts, again, upMs } = outage;
  retry = { at: performance.now() + change.delayMs };
  const title = unreachable
    ? 'Server unreachable · retrying'
    : again
      ? 'Disconnected again · reconnecting'
      : 'Reconnecting';
  const dropped = again
    ? `The connection dropped again ${seconds(upMs)} after reconnecting: ${describeClose(change)}.`
    : `${describeClose(change)[0].toUpperCase()}${describeClose(change).slice(1)}.`;
  setStatus(
    'wait',
    'reconnecting',
    [[title], [` in ${seconds(change.delayMs)}`, true], [` (attempt ${attempts})`]],
    unreachable
      ? `Nothing answers at ${endpoint}.` +
          (hubAuth === 'token' && hubAuthFailure === 'http'
            ? ' A wrong token looks the same: a browser cannot see the HTTP 401 of a refused' +
              ' handshake (start the demo without HUB_AUTH_FAILURE=http to tell them apart).'
            : '') +
          ' Messages and joins are queued meanwhile.'
      : `${dropped} Messages and joins are queued and sent on reconnect.`,
  );
  countdownTimer = setInterval(renderCountdown, 200);
  const next = `next try in ${seconds(change.delayMs)} (attempt ${attempts})`;
  if (attempts === 1) {
    log(
      'disconnect',
      again
        ? `disconnected again ${seconds(upMs)} after reconnecting: ${describeClose(change)}; ${next}`
        : `${describeClose(change)}; ${next}`,
    );
  } else {
    log('retry', `${describeClose(change)}; ${next}`);
  }
  for (const [room, status] of rooms) if (status === 'joined') rooms.set(room, 'rejoining');
}

function onClosed(change) {
  outage = undefined;
  renderWelcome(undefined);
  const { cause, code } = change;
  const title =
    cause === 'user'
      ? 'Closed by you'
      : cause === 'refused'
        ? code === 4403
          ? 'Refused: origin not allowed'
          : 'Refused: bad token'
        : cause === 'revoked'
          ? 'Access revoked'
          : cause === 'server'
            ? 'Closed by the server'
            : cause === 'replaced'
              ? 'Taken over by a newer connection'
              : 'Cannot connect';
  const detail =
    cause === 'user'
      ? 'You closed the connection. Press Connect to open a new one.'
      : cause === 'refused'
        ? `The server ${describeClose(change)}. It will not retry: ` +
          (code === 4403 ? 'fix the allowed origins.' : 'enter a valid token and press Connect.')
        : `${describeClose(change)}. Press Connect to try again.`;
  setStatus(
    cause === 'user' ? 'idle' : 'bad',
    'closed',
    [[title]],
    detail,
    cause === 'user' ? '' : 'bad',
  );
  log(
    cause === 'refused' ? 'error' : 'disconnect',
    `${describeClose(change)}; not retrying` +
      (change.discarded ? ` (${change.discarded} queued discarded)` : ''),
  );
  if (cause === 'refused' && code !== 4403)
    refuse('token', 'Refused by the server: enter a valid token.', false);
  for (const [room, status] of rooms) if (status === 'joined') rooms.set(room, 'rejoining');
}

function onState(change) {
  clearInterval(countdownTimer);
  retry = undefined;
  if (change.state === 'open') onOpen(change);
  else if (change.state === 'reconnecting') onReconnecting(change);
  else if (change.state === 'closed') onClosed(change);
  renderRooms();
  renderControls();
}

/**
 * (Re)connects with the token in the form; the rooms of the previous client come along.
 * (A new client per token: today's client takes its token when it is created.) `byUser`: the
 * Connect button or Enter, as opposed to the page's first connect; a token the form refuses
 * leaves the current connection as it is.
 */
function connect(byUser = false) {
  const token = $('token').value.trim();
  if (byUser && !token && hubAuth === 'token') {
    return refuse('token', 'Enter a token: this server requires one (HUB_AUTH_TOKENS).');
  }
  if (byUser && token && !TOKEN_CHARS.test(token)) {
    return refuse(
      'token',
      "A token may contain only letters, digits and !#$%&'*+-.^_`|~ (it is sent as a WebSocket subprotocol).",
    );
  }
  accept('token');
  $('connect-note').textContent = '';
  const previous = client;
  const carried = previous ? [...previous.rooms] : [];
  client = undefined;
  previous?.close();
  hadOpen = false;
  reconnects = 0;
  openedAt = undefined;
  outage = undefined;
  if (!token && hubAuth === 'token') {
    setStatus(
      'idle',
      'closed',
      [['Not connected']],
      'This server requires a token: enter one and press Connect.',
    );
    renderControls();
    return;
  }
  tokenRefreshes = 0;
  const c = createHubClient(endpoint, {
    // Asked before every attempt and when the server wants a refresh: the token in the field
    // now (paste a newer JWT to refresh in-band), else the one this client was created with.
    getToken: () => {
      const now = $('token').value.trim();
      return (now && TOKEN_CHARS.test(now) ? now : token) || undefined;
    },
    // A page, not thousands of clients: a short cap brings it back soon after the server.
    reconnect: { initialDelayMs: 500, maxDelayMs: 2_500 },
    requestTimeoutMs: 30_000,
    queue: { maxMessages: 50 },
  });
  client = c;
  const mine =
    (fn) =>
    (...args) => {
      if (client === c) fn(...args);
    };
  c.onState(mine(onState));
  c.onTokenRefresh(mine(onTokenRefresh));
  c.on(
    'broadcast',
    mine((data, replayed) => {
      if (!replayed) return log('broadcast', describeBroadcast(data));
      countReplayed();
      log('replayed', `${describeBroadcast(data)} (missed while disconnected)`);
    }),
  );
  c.on(
    'error',
    mine((error) => log('error', explain({ name: 'HubRequestError', ...error }))),
  );
  c.onRejoinError(
    mine((room, error) => {
      rooms.set(room, 'failed');
      log('error', `could not rejoin ${room}: ${explain(error)}`);
      renderRooms();
    }),
  );
  c.onQueueFull(
    mine(({ event }) => log('error', `${event} not queued: the offline queue is full`)),
  );
  setStatus('wait', 'connecting', [['Connecting…']], `Opening a WebSocket to ${endpoint}…`);
  renderWelcome(undefined);
  $('recovery').textContent = '-';
  for (const room of carried) joinRoom(room, true);
  renderControls();
}

function describeBroadcast(data) {
  if (data && typeof data === 'object' && typeof data.text === 'string') {
    const me = client?.welcome?.clientId;
    const from = !data.from ? 'the server' : data.from === me ? 'you' : data.from;
    return `${data.room ? `to room ${data.room}` : 'to everyone'} from ${from}: ${quote(data.text)}`;
  }
  return typeof data === 'string' ? quote(data) : JSON.stringify(data);
}

// ---------------------------------------------------------------------------------------------
// Actions

/** Runs a request, queued when not open (and shown as such), and logs how it ended. */
function tracked(c, what, run) {
  const wasOpen = c.state === 'open';
  if (!wasOpen) {
    queued++;
    log('queued', `${what} queued until the connection is back`);
    renderControls();
  }
  return run().finally(() => {
    if (!wasOpen) queued--;
    renderControls();
  });
}

function send(text) {
  const c = client;
  if (!c || c.state === 'closed') return refuse('message', NOT_CONNECTED);
  if (text.trim() === '') return refuse('message', 'Type a message: an empty one is not sent.');
  accept('message');
  const started = performance.now();
  const wasOpen = c.state === 'open';
  tracked(c, `message ${quote(text)}`, () => c.request('message', text)).then(
    (ack) => {
      const how = wasOpen
        ? `in ${(performance.now() - started).toFixed(1)} ms`
        : 'after reconnecting';
      $('ack').textContent = `${quote(ack)} ${how}`;
      log('message', `${quote(ack)} acknowledged ${how}`);
    },
    (error) => {
      $('ack').textContent = `failed: ${explain(error)}`;
      log('error', `message ${quote(text)} not delivered: ${explain(error)}`);
    },
  );
}

/** The Join form: what it refuses, before asking the server. */
function submitJoin() {
  const room = $('room').value.trim();
  const c = client;
  if (!c || c.state === 'closed') return refuse('room', NOT_CONNECTED);
  if (!room) return refuse('room', 'Enter a room name: spaces alone are not a name.');
  const status = rooms.get(room);
  if (status && status !== 'failed') {
    return refuse(
      'room',
      status === 'joined' ? `Already in room ${room}.` : `Room ${room} is already being joined.`,
    );
  }
  accept('room');
  joinRoom(room);
}

function joinRoom(room, carried = false) {
  const c = client;
  if (!c || c.state === 'closed') return;
  if (!rooms.has(room) || rooms.get(room) === 'failed') rooms.set(room, 'pending');
  renderRooms();
  const what = `join ${room}`;
  const run = () => c.join(room);
  (carried ? run() : tracked(c, what, run)).then(
    () => {
      if (client !== c) return;
      rooms.set(room, 'joined');
      log('room', `joined ${room}`);
      renderRooms();
    },
    (error) => {
      if (client !== c) return;
      if (!c.rooms.has(room)) rooms.delete(room);
      log('error', `could not join ${room}: ${explain(error)}`);
      if (!carried) refuse('room', `Not joined: ${explain(error)}.`, false);
      renderRooms();
    },
  );
}

/**
 * Leaves a room. The focus, when it was on the room's chip, goes to the next chip's leave
 * button (or the previous one's, or the room field when none is left), not to the page.
 */
function leaveRoom(room) {
  const li = $('rooms').querySelector(`.chip[data-room="${CSS.escape(room)}"]`);
  const hadFocus = li?.contains(document.activeElement);
  const neighbour = li?.nextElementSibling ?? li?.previousElementSibling;
  rooms.delete(room);
  renderRooms();
  if (hadFocus) {
    const next = neighbour?.isConnected ? neighbour.querySelector('button') : null;
    (next ?? $('room')).focus();
  }
  const c = client;
  if (!c) return;
  c.leave(room).then(
    () => log('room', `left ${room}`),
    (error) => log('error', `leaving ${room}: ${explain(error)}`),
  );
}

/** What a cluster broadcast did, in words that stay true on one instance and on several. */
function describeDelivery(delivered, room, stats) {
  const here = `Delivered to ${delivered} client(s) on this instance${room ? ` in room ${room}` : ''}`;
  const adapter = stats?.adapter;
  if (!adapter) return `${here}.`;
  if (adapter.connected === false) {
    return `${here}; not published to the other instances: this instance has lost Redis.`;
  }
  const others = Math.max(0, (stats.cluster?.instances ?? 1) - 1);
  if (others === 0) return `${here}, and published to the cluster (no other instance is up now).`;
  const [who, own] =
    others === 1
      ? ['the other instance delivers', 'its']
      : [`the ${others} other instances deliver`, 'their'];
  // (Not how many: the other instances' online counts reach this one only every few seconds.)
  const whom = room ? `${own} own members of room ${room}` : `${own} own clients`;
  return `${here}, and published to the cluster: ${who} it to ${whom}.`;
}

async function broadcast(text, room) {
  const out = $('delivered');
  if (text.trim() === '') return refuse('broadcast', 'Type a text to broadcast.');
  accept('broadcast');
  const data = { text, from: client?.welcome?.clientId ?? null, room: room || undefined };
  let response;
  try {
    response = await fetch('broadcast', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'broadcast', data, rooms: room ? [room] : undefined }),
    });
  } catch {
    out.textContent = 'Not sent: the server is unreachable.';
    out.dataset.tone = 'bad';
    log('error', `broadcast ${quote(text)} not sent: the server is unreachable`);
    return;
  }
  const json = await response.json().catch(() => null);
  if (response.status === 503) {
    out.textContent = 'Not sent: the server is shutting down (503).';
    out.dataset.tone = 'bad';
    log('error', `broadcast ${quote(text)} not sent: the server is shutting down (503)`);
    return;
  }
  if (!response.ok) {
    const message = [json?.message ?? response.statusText].flat().join('; ');
    out.textContent = `Refused (${response.status}): ${message}`;
    out.dataset.tone = 'bad';
    log('error', `broadcast refused (${response.status}): ${message}`);
    return;
  }
  out.textContent = describeDelivery(json.delivered, room, lastStats);
  out.dataset.tone = '';
  // Said again with the cluster's figures as they are now (an instance may have come or gone).
  const shown = out.textContent;
  await refreshStats();
  if (out.textContent === shown)
    out.textContent = describeDelivery(json.delivered, room, lastStats);
}

let statsRequest = 0;
/** GET /stats: the online counts, or why there are none (unreachable, stopping). */
async function refreshStats() {
  const mine = ++statsRequest;
  let stats;
  let problem;
  try {
    const response = await fetch('stats', { cache: 'no-store' });
    if (response.status === 503) problem = 'server stopping (503)';
    else if (!response.ok) problem = `no counts (HTTP ${response.status})`;
    else stats = await response.json();
  } catch {
    problem = 'server unreachable';
  }
  if (mine !== statsRequest) return; // a later request answers
  const note = $('stats-note');
  if (stats) {
    lastStats = stats;
    $('online').textContent = stats.online;
    $('clusterOnline').textContent = stats.cluster?.online ?? stats.online;
    $('instances').textContent = stats.cluster?.instances ?? 1;
    note.textContent = '';
  } else {
    for (const id of ['online', 'clusterOnline', 'instances']) $(id).textContent = '?';
    note.textContent = problem;
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function onSubmit(id, handler) {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    handler();
  });
}

onSubmit('connect-form', () => connect(true));
onSubmit('message-form', () => send($('message').value));
onSubmit('room-form', submitJoin);
onSubmit('broadcast-form', () => broadcast($('broadcast').value, $('target').value));
$('disconnect').addEventListener('click', () => {
  if (!client || client.state === 'closed') {
    $('connect-note').textContent = 'Not connected: nothing to disconnect.';
    return;
  }
  $('connect-note').textContent = '';
  client.close();
});
$('clear-log').addEventListener('click', () => $('log').replaceChildren());
for (const id of ['token', 'message', 'room', 'broadcast']) {
  $(id).addEventListener('input', () => accept(id));
}
for (const box of document.querySelectorAll('.filters input')) {
  box.addEventListener('change', () =>
    $('log').classList.toggle(`hide-${box.value}`, !box.checked),
  );
}

$('endpoint').textContent = endpoint;
$('token-hint').textContent =
  hubAuth === 'token'
    ? `Required by this server (HUB_AUTH_TOKENS); refusals ${hubAuthFailure === 'close' ? 'close with 4401' : 'answer HTTP 401'}.`
    : 'Not needed: this server lets everyone in.';
connect();
void refreshStats();
setInterval(refreshStats, 2000);
setInterval(renderTokenLife, 1000);
