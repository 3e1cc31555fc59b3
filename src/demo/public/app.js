// The demo page. It uses the library only through its public entry point, `ws-hub/client`,
// which the demo serves bundled as `hub-client.js`: reconnecting, rejoining rooms, queueing
// while disconnected and matching replies are the client's work, not this page's.
import { createHubClient } from './hub-client.js';

const $ = (id) => document.getElementById(id);
const { hubPath, hubAuth, hubAuthFailure } = document.body.dataset;

const endpoint = (() => {
  const url = new URL(hubPath, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
})();

/** The client of the current connection; replaced by Connect (old ones are ignored). */
let client;
/** Whether the current client has been open before (an open after that is a reconnect). */
let hadOpen = false;
/** Page-side status of each room: `pending`, `joined`, `rejoining` or `failed`. */
const rooms = new Map();
/** Requests made while disconnected and not settled yet. */
let queued = 0;
let retry; // { at, attempt, unreachable } while reconnecting
let countdownTimer;
/** After a resumed reconnect: the missed messages replayed so far, and the log line counting them. */
let recovery; // { count, line }

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
    case 'invalid':
      return `cannot connect: ${reason}`;
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
  const list = $('log');
  const [group, label] = TAGS[tag];
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
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
  if (atBottom) list.scrollTop = list.scrollHeight;
  return body;
}

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
  $('disconnect').disabled = closed;
  for (const id of ['send', 'join']) {
    const button = $(id);
    button.disabled = closed;
    button.title = closed
      ? 'Not connected: press Connect first'
      : open
        ? ''
        : 'Queued until reconnected';
  }
  $('send').textContent = open || closed ? 'Send' : 'Queue';
  $('join').textContent = open || closed ? 'Join' : 'Queue join';
  const badge = $('queued');
  badge.hidden = queued === 0;
  badge.textContent = `${queued} queued · sent on reconnect`;
}

function renderRooms() {
  const list = $('rooms');
  list.replaceChildren();
  for (const [room, status] of [...rooms].sort(([a], [b]) => a.localeCompare(b))) {
    const li = document.createElement('li');
    li.className = 'chip';
    li.dataset.status = status;
    li.dataset.room = room;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = room;
    li.append(name);
    const note = {
      pending: 'joining…',
      rejoining: 'rejoins on reconnect',
      failed: 'rejoin refused',
    }[status];
    if (note) {
      const small = document.createElement('span');
      small.className = 'note';
      small.textContent = `· ${note}`;
      li.append(small);
    }
    const leave = document.createElement('button');
    leave.type = 'button';
    leave.textContent = '×';
    leave.setAttribute('aria-label', `Leave room ${room}`);
    leave.title = `Leave ${room}`;
    leave.addEventListener('click', () => leaveRoom(room));
    li.append(leave);
    list.append(li);
  }
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
}

function missed(count) {
  return `recovered ${count} missed message${count === 1 ? '' : 's'}`;
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

function onState(change) {
  clearInterval(countdownTimer);
  retry = undefined;
  if (change.state === 'open') {
    const { welcome } = change;
    renderWelcome(welcome);
    const as = `Connected as ${welcome.userId ?? 'an anonymous user'}.`;
    setStatus(
      'ok',
      'open',
      [['Open']],
      hadOpen && change.recovered === true
        ? `${as} Session resumed: the messages missed meanwhile are replayed.`
        : hadOpen && change.recovered === false
          ? `${as} Not recovered: messages sent while disconnected are lost; refetch.`
          : as,
    );
    log('connect', `${hadOpen ? 'reconnected' : 'connected'} as ${welcome.clientId}`);
    renderRecovery(change.recovered, hadOpen);
    // Rooms come back with a resumed session; otherwise the client rejoins them.
    const streams = welcome.recovery?.streams ?? {};
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
    refreshStats();
  } else if (change.state === 'reconnecting') {
    const unreachable = change.cause === 'unreachable';
    retry = { at: performance.now() + change.delayMs, attempt: change.attempt };
    setStatus(
      'wait',
      'reconnecting',
      [
        [unreachable ? 'Server unreachable · retrying' : 'Reconnecting'],
        [` in ${seconds(change.delayMs)}`, true],
        [` (attempt ${change.attempt})`],
      ],
      unreachable
        ? `Nothing answers at ${endpoint}.` +
            (hubAuth === 'token' && hubAuthFailure !== 'close'
              ? ' A wrong token looks the same: a browser cannot see the HTTP 401 of a refused' +
                ' handshake (start the demo with HUB_AUTH_FAILURE=close to tell them apart).'
              : '') +
            ' Messages and joins are queued meanwhile.'
        : `${describeClose(change)}. Messages and joins are queued and sent on reconnect.`,
    );
    countdownTimer = setInterval(renderCountdown, 200);
    const next = `next try in ${seconds(change.delayMs)} (attempt ${change.attempt})`;
    if (change.attempt === 1) log('disconnect', `${describeClose(change)}; ${next}`);
    else log('retry', `${describeClose(change)}; ${next}`);
    for (const [room, status] of rooms) if (status === 'joined') rooms.set(room, 'rejoining');
  } else if (change.state === 'closed') {
    renderWelcome(undefined);
    const { cause, code } = change;
    const title =
      cause === 'user'
        ? 'Closed by you'
        : cause === 'refused'
          ? code === 4403
            ? 'Refused: origin not allowed'
            : 'Refused: bad token'
          : cause === 'server'
            ? 'Closed by the server'
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
    for (const [room, status] of rooms) if (status === 'joined') rooms.set(room, 'rejoining');
  }
  renderRooms();
  renderControls();
}

/** (Re)connects with the token in the form; the rooms of the previous client come along. */
function connect() {
  const previous = client;
  const carried = previous ? [...previous.rooms] : [];
  client = undefined;
  previous?.close();
  hadOpen = false;
  const token = $('token').value.trim();
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
  const c = createHubClient(endpoint, {
    token: token || undefined,
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
  if (!c || c.state === 'closed') return;
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
      renderRooms();
    },
  );
}

function leaveRoom(room) {
  rooms.delete(room);
  renderRooms();
  const c = client;
  if (!c) return;
  c.leave(room).then(
    () => log('room', `left ${room}`),
    (error) => log('error', `leaving ${room}: ${explain(error)}`),
  );
}

async function broadcast(text, room) {
  const out = $('delivered');
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
  if (!response.ok) {
    const message = [json?.message ?? response.statusText].flat().join('; ');
    out.textContent = `Refused (${response.status}): ${message}`;
    out.dataset.tone = 'bad';
    log('error', `broadcast refused (${response.status}): ${message}`);
    return;
  }
  out.textContent = `Delivered to ${json.delivered} client(s) on this instance${room ? ` in room ${room}` : ''}.`;
  out.dataset.tone = '';
}

async function refreshStats() {
  try {
    const stats = await (await fetch('stats')).json();
    $('online').textContent = stats.online;
    $('clusterOnline').textContent = stats.cluster?.online ?? stats.online;
    $('instances').textContent = stats.cluster?.instances ?? 1;
  } catch {
    for (const id of ['online', 'clusterOnline', 'instances']) $(id).textContent = '?';
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

onSubmit('connect-form', connect);
onSubmit('message-form', () => send($('message').value));
onSubmit('room-form', () => {
  const room = $('room').value.trim();
  if (room) joinRoom(room);
});
onSubmit('broadcast-form', () => broadcast($('broadcast').value, $('target').value));
$('disconnect').addEventListener('click', () => client?.close());
$('clear-log').addEventListener('click', () => $('log').replaceChildren());
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
refreshStats();
setInterval(refreshStats, 2000);
