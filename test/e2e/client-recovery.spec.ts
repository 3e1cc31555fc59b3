import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHubOn, type HubApp } from '../helpers/app.js';
import { waitFor } from '../helpers/client.js';
import { tokenIsUserId } from '../helpers/recovering-hubs.js';
import { freePort } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * `ws-hub/client` resuming its session by itself against a hub with `recovery: true`, over real
 * sockets: connections cut without a close frame through a TCP proxy the test controls, a
 * server restart (history lost: `recovered: false`), and a server without recovery.
 */

const servers: HubApp[] = [];
const clients: WsHubClient[] = [];
let proxy: TcpProxy | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
  proxy = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A hub on `port` (restartable there), tokens are user ids. */
async function hubOn(port: number, options: WsHubModuleOptions = { recovery: true }) {
  const server = await startHubOn(port, { authenticate: tokenIsUserId, ...options });
  servers.push(server);
  return server;
}

/** A client recording its state changes and every push (event, data, replayed). */
function client(url: string, token: string) {
  const c = createHubClient(url, {
    WebSocket,
    token,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  clients.push(c);
  const changes: HubStateChange[] = [];
  c.onState((x) => changes.push(x));
  const got: [string, unknown, boolean | undefined][] = [];
  for (const event of ['news', 'chat', 'dm', 'direct'])
    c.on(event, (data, replayed) => got.push([event, data, replayed]));
  const opens = () => changes.filter((x) => x.state === 'open');
  return { c, changes, got, opens };
}

describe('ws-hub/client with recovery', () => {
  it('resumes after cuts without close frame: exactly the missed messages, in order, then live', async () => {
    const port = await freePort();
    const server = await hubOn(port);
    const hub = server.hub;
    proxy = await startTcpProxy(port);
    const { c, got, opens, changes } = client(`ws://127.0.0.1:${proxy.port}/ws`, 'ann');
    await waitFor(() => c.state === 'open');
    expect(c.recovered).toBe(false); // a first connection has nothing to resume
    expect(opens()[0]).toMatchObject({ recovered: false });
    expect(await c.join('lobby')).toEqual({ room: 'lobby', pos: [0, expect.any(String)] });
    const id = c.welcome!.clientId;
    hub.broadcast('news', 0);
    await waitFor(() => got.length === 1);
    expect(got).toEqual([['news', 0, false]]);

    // 1. a half-open connection: the server still sees the client and writes into the void
    proxy.freeze();
    hub.broadcast('news', 1);
    hub.broadcast('chat', 'lobby 1', { rooms: 'lobby' });
    hub.sendToUser('ann', 'dm', 'dm 1');
    expect(hub.send(id, 'direct', 'direct 1')).toBe(true);
    hub.broadcast('chat', 'not mine', { rooms: 'other' });
    hub.sendToUser('bob', 'dm', 'not mine');
    proxy.refuse(true);
    proxy.cut();
    proxy.thaw();
    await waitFor(() => c.state === 'reconnecting' && hub.online === 0);

    // 2. while the client is away (the server knows it): broadcasts, room and user messages
    hub.broadcast('news', 2);
    hub.broadcast('chat', 'lobby 2', { rooms: ['lobby', 'other'] }); // once, though in 2 rooms
    hub.sendToUser('ann', 'dm', 'dm 2');
    // A direct send to a client that is away but can resume its session is recorded.
    expect(hub.send(id, 'direct', 'direct 2')).toBe(true);
    proxy.refuse(false);

    await waitFor(() => opens().length === 2, 5000);
    expect(c.welcome!.clientId).toBe(id);
    expect(c.recovered).toBe(true);
    expect(opens()[1]).toMatchObject({ state: 'open', recovered: true });
    expect(hub.roomsOf(id)).toEqual(['lobby']);
    await waitFor(() => got.length === 9);
    expect(got.slice(1)).toEqual([
      ['news', 1, true],
      ['chat', 'lobby 1', true],
      ['dm', 'dm 1', true],
      ['direct', 'direct 1', true],
      ['news', 2, true],
      ['chat', 'lobby 2', true],
      ['dm', 'dm 2', true],
      ['direct', 'direct 2', true],
    ]);

    // then live, on the same session, with no duplicate at the seam
    hub.broadcast('news', 3);
    hub.broadcast('chat', 'lobby 3', { rooms: 'lobby' });
    expect(hub.send(id, 'direct', 'direct 3')).toBe(true);
    await waitFor(() => got.length === 12);
    expect(got.slice(9)).toEqual([
      ['news', 3, false],
      ['chat', 'lobby 3', false],
      ['direct', 'direct 3', false],
    ]);
    expect(await c.request('message', 'still here')).toBe('still here');
    expect(got).toHaveLength(12);

    // a second cut resumes from the new positions (the credential of the last welcome)
    proxy.refuse(true); // away until news 4 is out, however fast it reconnects
    proxy.cut();
    await waitFor(() => hub.online === 0);
    hub.broadcast('news', 4);
    proxy.refuse(false);
    await waitFor(() => opens().length === 3, 5000);
    expect(c.recovered).toBe(true);
    expect(c.welcome!.clientId).toBe(id);
    await waitFor(() => got.length === 13).catch((e) => {
      throw new Error(
        `${e}: ${JSON.stringify(changes.slice(-4))} got ${JSON.stringify(got.slice(-3))}`,
      );
    });
    expect(got[12]).toEqual(['news', 4, true]);
    expect([...c.rooms]).toEqual(['lobby']);
  });

  it('after a server restart (history lost) says recovered: false, starts a fresh session and rejoins', async () => {
    const port = await freePort();
    let server = await hubOn(port);
    const { c, got, opens } = client(`ws://127.0.0.1:${port}/ws`, 'ann');
    await waitFor(() => c.state === 'open');
    await c.join('lobby');
    const firstId = c.welcome!.clientId;
    server.hub.broadcast('news', 1);
    await waitFor(() => got.length === 1);

    await server.close();
    await waitFor(() => c.state === 'reconnecting');
    server = await hubOn(port);
    await waitFor(() => opens().length === 2, 5000);
    expect(c.recovered).toBe(false);
    expect(opens()[1]).toMatchObject({ state: 'open', recovered: false });
    expect(c.welcome!.clientId).not.toBe(firstId);
    await waitFor(() => server.hub.roomsOf(c.welcome!.clientId).length === 1);
    server.hub.broadcast('chat', 'after restart', { rooms: 'lobby' });
    await waitFor(() => got.length === 2);
    expect(got[1]).toEqual(['chat', 'after restart', false]);

    // the fresh session's credential is the one kept: the next cut resumes it
    const id = c.welcome!.clientId;
    server.hub.disconnect(id, 4000, 'test');
    await waitFor(() => opens().length === 3, 5000);
    expect(c.recovered).toBe(true);
    expect(c.welcome!.clientId).toBe(id);
  });

  it('against a hub without recovery behaves as plain v1: recovered stays undefined', async () => {
    const port = await freePort();
    const server = await hubOn(port, {});
    const { c, got, opens } = client(`ws://127.0.0.1:${port}/ws`, 'ann');
    await waitFor(() => c.state === 'open');
    expect(c.recovered).toBeUndefined();
    expect(opens()[0]).toMatchObject({ state: 'open', recovered: undefined });
    expect(await c.join('lobby')).toEqual({ room: 'lobby' });
    server.hub.broadcast('news', 1, { rooms: 'lobby' });
    await waitFor(() => got.length === 1);
    expect(got).toEqual([['news', 1, undefined]]);
  });
});
