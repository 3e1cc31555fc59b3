import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';
import { startRelay, type Relay } from '../helpers/ws-relay.js';

/**
 * The continuity rule in `ws-hub/client` against a real hub with recovery, over real sockets:
 * between the client and the hub a WebSocket relay the test controls (`ws-relay.ts`), which
 * records every frame and can repeat or lose one (what a buggy proxy, or a broken server, would
 * do). A `skip` frame
 * (a broadcast whose `except` names the client) and a repeated frame never reach the app; a lost
 * frame is a gap: the client closes with 4000, resumes, and the replay fills the gap; a takeover
 * (4409) stops it; a leave while the join is in flight leaves the server out of the room.
 */

let app: HubApp | undefined;
let proxy: Relay | undefined;
const clients: WsHubClient[] = [];
const raws: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of raws.splice(0)) r.terminate();
  await proxy?.close();
  await app?.close();
  app = proxy = undefined;
});

/** A hub with recovery (tokens are user ids), a relay in front, a client through the relay. */
async function setup(options: WsHubModuleOptions = {}) {
  const hub = (app = await startHub({
    recovery: true,
    rateLimit: false,
    authenticate: (_r, { token }) => (token ? { userId: token } : null),
    ...options,
  }));
  const relay = (proxy = await startRelay(hub.url));
  const client = createHubClient(relay.url, {
    WebSocket,
    token: 'ann',
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, restartDelayMs: 50 },
  });
  clients.push(client);
  const changes: HubStateChange[] = [];
  client.onState((c) => changes.push(c));
  const got: unknown[][] = [];
  client.onAny((event, data, replayed) => got.push([event, data, replayed]));
  await waitFor(() => client.state === 'open');
  return { client, changes, got, hub, relay };
}

const events = (frames: string[]) => frames.map((f) => JSON.parse(f).event);

describe('ws-hub/client continuity against a real hub', () => {
  it('a skip frame and a repeated frame never reach the app; the connection stays', async () => {
    const { client, changes, got, hub, relay } = await setup();
    await client.join('lobby');
    const id = client.welcome!.clientId;
    hub.hub.broadcast('news', 1);
    await waitFor(() => got.length === 1);

    // a broadcast that excludes the client: the hub sends it a skip for its offset
    hub.hub.broadcast('news', 2, { except: id });
    hub.hub.broadcast('news', 3, { rooms: 'lobby', except: id });
    // the next frame arrives twice
    relay.tamper = (text) => (text.includes('"data":4') ? [text, text] : [text]);
    hub.hub.broadcast('news', 4);
    hub.hub.broadcast('news', 5, { rooms: 'lobby' });
    await waitFor(() => got.length === 3);
    await sleep(50);

    const frames = relay.fromHub[0];
    const skips = frames.filter((f) => JSON.parse(f).event === 'skip').map((f) => JSON.parse(f));
    expect(skips.map((s) => Object.keys(s.pos))).toEqual([['all'], ['room:lobby']]);
    expect(got).toEqual([
      ['news', 1, false],
      ['news', 4, false],
      ['news', 5, false],
    ]);
    expect(relay.fromHub).toHaveLength(1); // never reconnected
    expect(relay.clientCloses).toEqual([]);
    expect(changes.map((c) => c.state)).toEqual(['open']);
    expect(events(frames).filter((e) => e === 'news')).toHaveLength(3);
  });

  it('a lost frame is a gap: the client closes with 4000, resumes, and the replay fills the gap', async () => {
    const { client, changes, got, hub, relay } = await setup();
    hub.hub.broadcast('news', 1);
    await waitFor(() => got.length === 1);
    let lose = 1; // the first copy of 2 only
    relay.tamper = (text) => (text.includes('"data":2') && lose-- > 0 ? [] : [text]);
    hub.hub.broadcast('news', 2);
    hub.hub.broadcast('news', 3);
    await waitFor(() => changes.filter((c) => c.state === 'open').length === 2, 5000);
    await waitFor(() => got.length === 3);
    expect(relay.clientCloses).toEqual([4000]);
    expect(changes[1]).toMatchObject({
      state: 'reconnecting',
      code: 4000,
      reason: 'continuity lost',
      cause: 'restart',
      attempt: 0,
    });
    expect(client.recovered).toBe(true);
    // 3 never reached the app on the first connection: it came with the replay, once
    expect(got).toEqual([
      ['news', 1, false],
      ['news', 2, true],
      ['news', 3, true],
    ]);
    hub.hub.broadcast('news', 4);
    await waitFor(() => got.length === 4);
    expect(got[3]).toEqual(['news', 4, false]);
  });

  it('a session taken over by a newer connection (4409): the client stops, cause replaced', async () => {
    const { client, changes, hub, relay } = await setup();
    const welcome = JSON.parse(relay.fromHub[0][0]);
    expect(welcome.event).toBe('welcome');
    // someone else resumes the session (its credential, straight from the wire)
    const thief = new WebSocket(hub.url, ['ws-hub.v1', 'ws-hub.recovery', 'bearer.ann']);
    raws.push(thief);
    const thiefFrames: any[] = [];
    thief.on('message', (raw) => thiefFrames.push(JSON.parse(raw.toString())));
    await new Promise((resolve) => thief.once('open', resolve));
    thief.send(
      JSON.stringify({ event: 'recover', id: 1, data: { session: welcome.data.recovery.session } }),
    );
    await waitFor(() => client.state === 'closed', 5000);
    expect(changes.at(-1)).toMatchObject({
      state: 'closed',
      code: 4409,
      cause: 'replaced',
      willRetry: false,
    });
    expect(thiefFrames[0].data.clientId).toBe(welcome.data.clientId);
    await sleep(300);
    expect(relay.fromHub).toHaveLength(1); // no fight back
    expect(hub.hub.online).toBe(1);
  });

  it('leave while the join is in flight: the server ends up out of the room', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { client, got, hub, relay } = await setup({
      authorizeJoin: async ({ room }) => {
        if (room === 'slow') await gate;
        return true;
      },
    });
    const id = client.welcome!.clientId;
    const joined = client.join('slow');
    await waitFor(() => relay.fromHub[0].length >= 1);
    const left = client.leave('slow');
    expect([...client.rooms]).toEqual([]);
    release();
    expect(await joined).toEqual({ room: 'slow', pos: [0, expect.any(String)] });
    expect(await left).toEqual({ room: 'slow' });
    // the client left again after the joined reply: two leaves went out
    await waitFor(() => events(relay.fromHub[0]).filter((e) => e === 'left').length === 2);
    expect(hub.hub.roomsOf(id)).toEqual([]);
    hub.hub.broadcast('news', 'room', { rooms: 'slow' });
    hub.hub.broadcast('news', 'all');
    await waitFor(() => got.length === 1);
    await sleep(50);
    expect(got).toEqual([['news', 'all', false]]);
    expect(relay.clientCloses).toEqual([]);
  });
});
