import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { PROTOCOLS } from '../helpers/recovering-client.js';

/**
 * Adversarial probes (issue 17 review) of `ws-hub/client` against the README's recovery
 * contract for it:
 *
 * - "The client checks too (the continuity rule, for `ws-hub/client` and any client): within a
 *   stream the next frame must be `offset + 1` in the same epoch. A higher offset (a gap) or
 *   another epoch is lost continuity: the frame is not processed, the client resumes from its
 *   last position and reports what the welcome says. A frame at or below its position (same
 *   epoch) is a duplicate: dropped."
 * - "`skip` ...: offsets the client steps over without an event".
 * - "`ws-hub/client` stops on 4409: someone else holds its session."
 *
 * The continuity probes need frames a correct server never sends: a `ws` server on port 0
 * speaks the recovery extension by hand (welcome, then chosen positioned frames). The others
 * run against a real hub.
 */

const clients: WsHubClient[] = [];
const servers: WebSocketServer[] = [];
const apps: HubApp[] = [];
const raws: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of raws.splice(0)) r.terminate();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          for (const ws of s.clients) ws.terminate();
          s.close(() => resolve());
        }),
    ),
  );
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

interface FakeConnection {
  ws: WebSocket;
  recover: { session?: string; streams?: Record<string, { epoch: string; offset: number }> };
}

/** A hand-written recovery server: records each connection's `recover` frame and welcomes it. */
async function fakeServer(): Promise<{ url: string; conns: FakeConnection[] }> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => (protocols.has('ws-hub.recovery') ? 'ws-hub.recovery' : false),
  });
  servers.push(wss);
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const conns: FakeConnection[] = [];
  wss.on('connection', (ws) => {
    ws.once('message', (raw) => {
      const f = JSON.parse(raw.toString()) as {
        id?: string | number;
        data: FakeConnection['recover'];
      };
      conns.push({ ws, recover: f.data ?? {} });
      const presented = f.data?.streams?.all;
      const recovered = presented !== undefined && presented.epoch === 'E1';
      ws.send(
        JSON.stringify({
          event: 'welcome',
          id: f.id,
          data: {
            clientId: 'fake.1',
            pingIntervalMs: 60_000,
            protocol: 1,
            maxPayloadBytes: 65536,
            recovery: {
              recovered,
              session: `fake.1~secret${conns.length}`,
              streams: {
                all: recovered
                  ? { epoch: 'E1', offset: presented.offset, recovered: true }
                  : { epoch: 'E1', offset: 5 },
                'user:u1': { epoch: 'U1', offset: 0 },
              },
            },
          },
        }),
      );
    });
  });
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/ws`, conns };
}

function hubClient(url: string, options: { WebSocket?: typeof WebSocket; token?: string } = {}) {
  const c = createHubClient(url, {
    WebSocket: options.WebSocket ?? WebSocket,
    token: options.token ?? 'u1',
    reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  clients.push(c);
  const changes: HubStateChange[] = [];
  c.onState((x) => changes.push(x));
  const any: [string, unknown][] = [];
  c.onAny((event, data) => any.push([event, data]));
  return { c, changes, any };
}

const push = (ws: WebSocket, data: number, pos: [number, string]) =>
  ws.send(JSON.stringify({ event: 'news', data, pos: { all: pos } }));

describe('attack: ws-hub/client continuity rule', () => {
  it('a gap (offset + 2) is not processed; the client resumes from its last position', async () => {
    const fake = await fakeServer();
    const { c, any } = hubClient(fake.url);
    await c.ready();
    const first = fake.conns[0].ws;
    push(first, 6, [6, 'E1']);
    push(first, 8, [8, 'E1']); // 7 never came
    await sleep(300);
    const news = any.filter(([e]) => e === 'news').map(([, d]) => d);
    expect(news, 'the frame after a gap must not be processed').toEqual([6]);
    await waitFor(() => fake.conns.length >= 2, 2_000).catch(() => undefined);
    expect(fake.conns.length, 'lost continuity: the client resumes').toBeGreaterThanOrEqual(2);
    expect(fake.conns[1].recover.streams?.all).toEqual({ epoch: 'E1', offset: 6 });
  });

  it('a duplicate (at or below its position, same epoch) is dropped', async () => {
    const fake = await fakeServer();
    const { c, any } = hubClient(fake.url);
    await c.ready();
    const first = fake.conns[0].ws;
    push(first, 6, [6, 'E1']);
    push(first, 6, [6, 'E1']);
    push(first, 5, [5, 'E1']);
    push(first, 7, [7, 'E1']);
    await sleep(300);
    const news = any.filter(([e]) => e === 'news').map(([, d]) => d);
    expect(news).toEqual([6, 7]);
  });

  it('another epoch is lost continuity: not processed, the client resumes from its last position', async () => {
    const fake = await fakeServer();
    const { c, any } = hubClient(fake.url);
    await c.ready();
    const first = fake.conns[0].ws;
    push(first, 6, [6, 'E1']);
    push(first, 1, [1, 'E2']);
    await sleep(300);
    const news = any.filter(([e]) => e === 'news').map(([, d]) => d);
    expect(news).toEqual([6]);
    await waitFor(() => fake.conns.length >= 2, 2_000).catch(() => undefined);
    expect(fake.conns.length).toBeGreaterThanOrEqual(2);
    expect(fake.conns[1].recover.streams?.all).toEqual({ epoch: 'E1', offset: 6 });
  });
});

describe('attack: ws-hub/client and Redis Cluster copies (mid)', () => {
  it('a second copy of a message whose mid it processed is a skip, not a second event', async () => {
    const fake = await fakeServer();
    const { c, any } = hubClient(fake.url);
    await c.ready();
    const ws = fake.conns[0].ws;
    ws.send(JSON.stringify({ event: 'news', data: 7, mid: 'm1', pos: { all: [6, 'E1'] } }));
    ws.send(JSON.stringify({ event: 'news', data: 7, mid: 'm1', pos: { 'user:u1': [1, 'U1'] } }));
    await sleep(300);
    expect(any.filter(([e]) => e === 'news').map(([, d]) => d)).toEqual([7]);
  });
});

describe('attack: ws-hub/client against a recovering hub', () => {
  it('a skip frame (a broadcast that excluded it) is no event for the app', async () => {
    const app = await startHub({ recovery: true, rateLimit: false });
    apps.push(app);
    const { c, any } = hubClient(app.url);
    const welcome = await c.ready();
    const skipped: unknown[] = [];
    c.on('skip', (d) => skipped.push(d));
    app.hub.broadcast('news', 1, { except: welcome.clientId });
    app.hub.broadcast('news', 2);
    await waitFor(() => any.some(([e]) => e === 'news'));
    await sleep(100);
    expect(any.map(([e]) => e)).toEqual(['news']);
    expect(skipped).toEqual([]);
  });

  it('stops on 4409 (another connection resumed its session)', async () => {
    const app = await startHub({
      recovery: true,
      rateLimit: false,
      authenticate: (_r, { token }) => (token ? { userId: token } : null),
    });
    apps.push(app);
    let credential: string | undefined;
    /** Reads the credential off the wire (the client hides it from the app). */
    class Spy extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
        super(url, protocols, options);
        this.on('message', (raw) => {
          const f = JSON.parse(raw.toString()) as { event: string; data?: any };
          if (f.event === 'welcome') credential = f.data?.recovery?.session;
        });
      }
    }
    const { c, changes } = hubClient(app.url, { WebSocket: Spy as typeof WebSocket, token: 'u1' });
    await c.ready();
    expect(credential).toBeDefined();
    const thief = await TestClient.connect(`${app.url}?token=u1`, { protocols: PROTOCOLS });
    raws.push(thief);
    thief.send({ event: 'recover', id: 'r', data: { session: credential, streams: {} } });
    const w = await thief.next((f) => f.event === 'welcome');
    expect(w.data.recovery.recovered).toBe(true);
    await waitFor(() => changes.some((x) => x.state !== 'open'), 2_000);
    await sleep(300);
    const after = changes.filter((x) => x.state !== 'open' && x.state !== 'connecting');
    expect(after[0]).toMatchObject({ code: 4409 });
    expect(c.state, JSON.stringify(changes.map((x) => [x.state, (x as any).code]))).toBe('closed');
  });
});
