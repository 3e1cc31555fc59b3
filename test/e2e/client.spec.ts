import 'reflect-metadata';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  HubRequestError,
  type HubClientOptions,
  type HubEventMap,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHubOn, type HubApp } from '../helpers/app.js';
import { freePort } from '../helpers/redis-server.js';
import { sleep, waitFor } from '../helpers/client.js';

/**
 * `ws-hub/client` in Node against the real server: reconnect after a restart on the same port
 * (rooms rejoined, queued requests answered), refusals with `authFailure: 'close'` and
 * `'http'` (both stop the client), typed replies and error frames.
 */

/** A hub app on a given port, so that it can be restarted where its clients expect it. */
async function hubOn(port: number, options: WsHubModuleOptions = {}): Promise<HubApp> {
  const server = await startHubOn(port, options);
  servers.push(server);
  return server;
}

/** Small delays: a restart is seen within a few hundred milliseconds. */
const FAST: HubClientOptions = {
  WebSocket,
  reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
};

let servers: HubApp[] = [];
let clients: WsHubClient<any, any, any>[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function client<
  S extends HubEventMap = HubEventMap,
  C extends HubEventMap = HubEventMap,
  R extends HubEventMap = HubEventMap,
>(url: string, options: HubClientOptions = {}) {
  const c = createHubClient<S, C, R>(url, { ...FAST, ...options });
  const changes: HubStateChange[] = [];
  c.onState((x) => changes.push(x));
  clients.push(c);
  return { client: c, changes };
}

/** Resolves with the first state change (already seen or to come) matching `match`. */
function seen(
  changes: HubStateChange[],
  match: (c: HubStateChange) => boolean,
  timeoutMs = 5000,
): Promise<HubStateChange> {
  return waitFor(() => changes.some(match), timeoutMs).then(() => changes.find(match)!);
}

describe('ws-hub/client against the real server', () => {
  it('reconnects after a restart on the same port, rejoins its rooms, flushes its queue', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/ws`;
    let server = await hubOn(port);
    const { client: c, changes } = client(url);
    await seen(changes, (x) => x.state === 'open');
    const firstId = c.welcome!.clientId;
    expect(await c.join('lobby')).toEqual({ room: 'lobby' });
    expect(await c.join('ops')).toEqual({ room: 'ops' });
    const news: unknown[] = [];
    c.on('news', (data) => news.push(data));

    await server.close();
    // the shutdown's drain (1012) is retried soon; the attempts against the closed port never open
    await seen(changes, (x) => x.state === 'reconnecting' && x.code === 1012);
    await seen(changes, (x) => x.state === 'reconnecting' && x.cause === 'unreachable');
    expect(c.state).toBe('reconnecting');

    // made during the outage: queued, then sent and answered on the new connection
    const queued = c.request('message', 'sent while down');
    c.send('message', 'fire and forget while down');
    expect([...c.rooms].sort()).toEqual(['lobby', 'ops']);

    const restartedAt = performance.now();
    server = await hubOn(port);
    const opened = changes.length;
    await seen(changes, (x) => changes.indexOf(x) >= opened && x.state === 'open');
    const reconnectMs = performance.now() - restartedAt;
    expect(reconnectMs).toBeLessThan(2000);
    expect(c.welcome!.clientId).not.toBe(firstId);
    expect(await queued).toBe('sent while down');

    // the rooms were rejoined on the new server, without the application doing anything
    await waitFor(() => server.hub.roomsOf(c.welcome!.clientId).length === 2);
    expect(server.hub.roomsOf(c.welcome!.clientId).sort()).toEqual(['lobby', 'ops']);
    expect(server.hub.broadcast('news', { n: 1 }, { rooms: ['lobby'] })).toBe(1);
    expect(server.hub.broadcast('news', { n: 2 }, { rooms: ['elsewhere'] })).toBe(0);
    await waitFor(() => news.length === 1);
    expect(news).toEqual([{ n: 1 }]);

    // the whole story, in order, as onState listeners saw it
    const states = changes.map((x) => x.state);
    expect(states[0]).toBe('open');
    expect(states.at(-1)).toBe('open');
    expect(states.slice(1, -1).every((s) => s === 'reconnecting')).toBe(true);
    const retries = changes.filter((x) => x.state === 'reconnecting');
    // the drain's 1012 is not counted as an attempt, and waits random(0, restartDelayMs)
    expect(retries.map((x) => (x as { attempt: number }).attempt)).toEqual(
      retries.map((_, i) => i),
    );
    expect(retries[0]).toMatchObject({ code: 1012, cause: 'restart' });
    expect((retries[0] as { delayMs: number }).delayMs).toBeLessThan(1000);
    for (const r of retries.slice(1))
      expect((r as { delayMs: number }).delayMs).toBeLessThanOrEqual(200);
  });

  it('a refused token with authFailure "close" stops retrying and says refused', async () => {
    const port = await freePort();
    const server = await hubOn(port, {
      authFailure: 'close',
      authenticate: (_req, { token }) => (token === 'good' ? { userId: 'alice' } : null),
    });
    const url = `ws://127.0.0.1:${port}/ws`;
    const { client: refused, changes } = client(url, { token: 'bad' });
    const queued = refused.request('message', 'never sent').catch((e: unknown) => e);
    const closed = await seen(changes, (x) => x.state === 'closed');
    expect(closed).toEqual({
      state: 'closed',
      code: 4401,
      reason: 'unauthorized',
      cause: 'refused',
      willRetry: false,
      discarded: 1,
    });
    expect(await queued).toMatchObject({ name: 'HubDisconnectedError' });
    // no retry: one handshake in all, counted as refused; the socket was never registered
    await sleep(400);
    expect(changes).toHaveLength(1);
    expect(server.hub.stats().rejectedHandshakes).toEqual({ '401': 1 });
    expect(server.hub.online).toBe(0);

    const { client: good, changes: goodChanges } = client(url, { token: 'good' });
    await seen(goodChanges, (x) => x.state === 'open');
    expect(good.welcome!.userId).toBe('alice');
  });

  it('a refused token answered HTTP 401 (authFailure "http"): Node sees the status and stops, refused', async () => {
    const port = await freePort();
    const server = await hubOn(port, {
      authFailure: 'http',
      authenticate: (_req, { token }) => (token === 'good' ? { userId: 'alice' } : null),
    });
    const { client: c, changes } = client(`ws://127.0.0.1:${port}/ws`, { token: 'bad' });
    const ready = c.ready().catch((e: unknown) => e);
    const closed = await seen(changes, (x) => x.state === 'closed');
    expect(closed).toEqual({
      state: 'closed',
      code: 1006,
      reason: 'HTTP 401',
      cause: 'refused',
      willRetry: false,
      discarded: 0,
    });
    expect(await ready).toMatchObject({ name: 'HubDisconnectedError' });
    // no retry loop: one handshake in all (the old client retried forever, "unreachable")
    await sleep(400);
    expect(changes).toHaveLength(1);
    expect(server.hub.stats().rejectedHandshakes).toEqual({ '401': 1 });
  });

  it('types request replies (ack, pong, joined) and rejects an error frame with its code', async () => {
    interface ServerEvents {
      news: { n: number };
    }
    interface ClientEvents {
      message: string;
      ping: undefined;
      join: { room: string };
      nope: { x: number };
    }
    interface Replies {
      message: string;
      ping: { ts: number };
      join: { room: string };
    }
    const port = await freePort();
    await hubOn(port);
    const { client: c, changes } = client<ServerEvents, ClientEvents, Replies>(
      `ws://127.0.0.1:${port}/ws`,
    );
    await seen(changes, (x) => x.state === 'open');

    const ack = await c.request('message', 'hello');
    expectTypeOf(ack).toEqualTypeOf<string>();
    expect(ack).toBe('hello');

    const pong = await c.request('ping');
    expectTypeOf(pong).toEqualTypeOf<{ ts: number }>();
    expect(Math.abs(pong.ts - Date.now())).toBeLessThan(5000);

    const joined = await c.request('join', { room: 'r1' });
    expectTypeOf(joined).toEqualTypeOf<{ room: string }>();
    expect(joined).toEqual({ room: 'r1' });
    expect(await c.leave('r1')).toEqual({ room: 'r1' });

    const unknown = await c.request('nope', { x: 1 }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(HubRequestError);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_EVENT', message: 'unknown event "nope"' });
    const badRoom = await c.join('').catch((e: unknown) => e);
    expect(badRoom).toBeInstanceOf(HubRequestError);
    expect((badRoom as HubRequestError).code).toBe('BAD_ENVELOPE');
    expect(c.rooms.size).toBe(0);

    // an error frame answering no request (a send) reaches on('error')
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    c.send('nope', { x: 2 });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'UNKNOWN_EVENT' });
    expect(c.state).toBe('open');
  });
});
