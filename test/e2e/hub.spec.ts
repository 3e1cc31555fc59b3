import { Module } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  WsHubModule,
  type HubConnectedEvent,
  type HubDisconnectedEvent,
  type HubMessageEvent,
} from '../../src/ws-hub/index.js';
import { startApp, startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';

describe('HubService over real sockets', () => {
  let h: HubApp | undefined;
  const clients: TestClient[] = [];
  const connect = async (url = h!.url) => {
    const c = await TestClient.welcomed(url);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await h?.close();
    h = undefined;
  });

  it('broadcasts to 50 clients exactly once each, honours except and counts deliveries', async () => {
    h = await startHub();
    const all = await Promise.all(Array.from({ length: 50 }, () => connect()));
    expect(h.hub.online).toBe(50);
    expect(h.hub.broadcast('news', { n: 1 })).toBe(50);
    const excluded = [all[3].id, all[17].id];
    expect(h.hub.broadcast('news', { n: 2 }, { except: excluded })).toBe(48);
    expect(h.hub.broadcast('news', { n: 3 }, { except: all[0].id })).toBe(49);
    await Promise.all(
      all.map((c) =>
        c.next((f) => (f.event === 'news' && f.data.n === 3) || (c === all[0] && f.data?.n === 2)),
      ),
    );
    await sleep(50);
    for (const c of all) {
      const got = c.events('news').map((f) => f.data.n);
      const expected = [1];
      if (!excluded.includes(c.id)) expected.push(2);
      if (c !== all[0]) expected.push(3);
      expect(got).toEqual(expected);
    }
    // the broadcast frame has no id
    expect(all[1].raw.filter((r) => r.includes('"news"'))[0]).toBe(
      '{"event":"news","data":{"n":1}}',
    );
  });

  it('sends to one client only and reports whether it was connected', async () => {
    h = await startHub();
    const [a, b] = await Promise.all([connect(), connect()]);
    expect(h.hub.send(a.id, 'direct', 'for a')).toBe(true);
    expect(await a.next((f) => f.event === 'direct')).toEqual({ event: 'direct', data: 'for a' });
    expect(h.hub.send(h.hub.instanceId + '.missing', 'direct', 'x')).toBe(false);
    expect(h.hub.send('garbage', 'direct', 'x')).toBe(false);
    // without a cluster adapter no other instance exists, whatever the id's prefix
    expect(h.hub.send('zzzzzzzz.nope', 'direct', 'x')).toBe(false);
    expect(h.hub.disconnect('zzzzzzzz.nope')).toBe(false);
    await sleep(50);
    expect(b.events('direct')).toHaveLength(0);
  });

  it('tracks online, clients() and the connected/disconnected/message streams', async () => {
    h = await startHub();
    const connected: HubConnectedEvent[] = [];
    const disconnected: HubDisconnectedEvent[] = [];
    const messages: HubMessageEvent[] = [];
    h.hub.connected$.subscribe((e) => connected.push(e));
    h.hub.disconnected$.subscribe((e) => disconnected.push(e));
    h.hub.messages$.subscribe((e) => messages.push(e));
    const a = await connect();
    const b = await connect();
    expect(h.hub.online).toBe(2);
    expect(connected.map((e) => e.clientId)).toEqual([a.id, b.id]);
    const snapshot = h.hub.clients();
    expect(snapshot.map((c) => c.id).sort()).toEqual([a.id, b.id].sort());
    for (const info of snapshot) {
      expect(info.remoteAddress).toBe('127.0.0.1');
      expect(info.connectedAt).toBeLessThanOrEqual(Date.now());
      expect(info.connectedAt).toBeGreaterThan(Date.now() - 10_000);
    }
    await a.request({ event: 'message', id: 1, data: { hi: true } });
    expect(messages).toEqual([
      { clientId: a.id, userId: undefined, event: 'message', data: { hi: true }, id: 1 },
    ]);

    a.ws.close(4000, 'bye');
    await waitFor(() => disconnected.length === 1);
    expect(disconnected[0]).toMatchObject({ clientId: a.id, code: 4000, reason: 'client-closed' });
    expect(h.hub.online).toBe(1);
    expect(h.hub.isOnline(a.id)).toBe(false);

    b.terminate();
    await waitFor(() => disconnected.length === 2);
    expect(disconnected[1]).toMatchObject({
      clientId: b.id,
      code: 1006,
      reason: 'connection-lost',
    });
    expect(h.hub.online).toBe(0);
    expect(h.hub.clients()).toEqual([]);
  });

  it('disconnects a client with a chosen code and reason', async () => {
    h = await startHub();
    const a = await connect();
    const other = await connect();
    const events: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => events.push(e));
    expect(h.hub.disconnect(a.id, 4001, 'kicked')).toBe(true);
    expect(h.hub.isOnline(a.id)).toBe(false);
    expect(await a.closed()).toBe(4001);
    expect(a.closeReason).toBe('kicked');
    expect(events).toEqual([
      { clientId: a.id, userId: undefined, code: 4001, reason: 'server-disconnect' },
    ]);
    expect(() => h!.hub.disconnect(other.id, 1006)).toThrow(RangeError);
    // a reason longer than a close frame allows is cut to 123 bytes, the code kept
    const third = await connect();
    h.hub.disconnect(third.id, 4002, 'é'.repeat(100));
    expect(await third.closed()).toBe(4002);
    expect(Buffer.byteLength(third.closeReason!)).toBeLessThanOrEqual(123);
    expect(third.closeReason!.startsWith('éé')).toBe(true);
    expect(h.hub.disconnect(a.id)).toBe(false);
    expect(await other.request({ event: 'message', id: 1, data: 1 })).toMatchObject({
      event: 'ack',
    });
  });

  it('closes an oversized frame with 1009 and keeps serving others', async () => {
    h = await startHub({ maxPayloadBytes: 1024 });
    const big = await connect();
    const other = await connect();
    const events: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => events.push(e));
    expect(await big.request({ event: 'message', id: 1, data: 'x'.repeat(900) })).toMatchObject({
      event: 'ack',
    });
    big.send({ event: 'message', id: 2, data: 'x'.repeat(2000) });
    expect(await big.closed()).toBe(1009);
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ clientId: big.id, reason: 'payload-too-large' });
    expect(await other.request({ event: 'message', id: 3, data: 'fine' })).toMatchObject({
      data: 'fine',
    });
    expect(h.hub.online).toBe(1);
  });

  it('evicts a client that stops answering pings within (maxMissedPongs + 1) * pingIntervalMs', async () => {
    h = await startHub({ pingIntervalMs: 200, maxMissedPongs: 2 });
    const events: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => events.push(e));
    const healthy = await connect();
    const silent = TestClient.open(h.url, { autoPong: false });
    clients.push(silent);
    await silent.opened;
    const welcome = await silent.next((f) => f.event === 'welcome');
    const lastFrameAt = Date.now();
    let pings = 0;
    silent.ws.on('ping', () => pings++);
    await waitFor(() => events.length === 1, 3000);
    const elapsed = Date.now() - lastFrameAt;
    expect(events[0]).toMatchObject({
      clientId: welcome.data.clientId,
      reason: 'heartbeat-timeout',
      code: 1006,
    });
    expect(elapsed).toBeLessThanOrEqual(3 * 200 + 150);
    expect(elapsed).toBeGreaterThanOrEqual(2 * 200 - 150);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(await silent.closed()).toBe(1006);
    // the healthy client answers pings automatically and outlives many rounds
    await sleep(1000);
    expect(h.hub.isOnline(healthy.id)).toBe(true);
    expect(h.hub.online).toBe(1);
  });

  it('keeps a client that sends frames but no pongs (any frame counts as alive)', async () => {
    h = await startHub({ pingIntervalMs: 150, maxMissedPongs: 1 });
    const chatty = TestClient.open(h.url, { autoPong: false });
    clients.push(chatty);
    const welcome = await chatty.next((f) => f.event === 'welcome');
    for (let i = 0; i < 8; i++) {
      chatty.send({ event: 'message', data: i });
      await sleep(80);
    }
    expect(h.hub.isOnline(welcome.data.clientId)).toBe(true);
  });

  it('drains every client with 1012 on app.close() and leaves nothing running', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    h = await startHub({ pingIntervalMs: 1000 });
    const all = await Promise.all(Array.from({ length: 5 }, () => connect()));
    const disconnected: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => disconnected.push(e));
    const codes = all.map((c) => c.closed());
    await h.close();
    h = undefined;
    expect(await Promise.all(codes)).toEqual([1012, 1012, 1012, 1012, 1012]);
    expect(all.every((c) => c.closeReason === 'server restarting')).toBe(true);
    expect(disconnected.map((d) => d.reason)).toEqual(Array(5).fill('server-shutdown'));
    await waitFor(
      () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length <= baseline,
      2000,
    );
    expect(all.every((c) => c.ws.readyState === WebSocket.CLOSED)).toBe(true);
  });

  it('refuses connections on other paths', async () => {
    h = await startHub({ path: '/hub' });
    await expect(TestClient.connect(`ws://127.0.0.1:${h.port}/ws`)).rejects.toThrow();
    const ok = await connect(`ws://127.0.0.1:${h.port}/hub`);
    expect(h.hub.isOnline(ok.id)).toBe(true);
  });

  it('takes path and ws server options from forRootAsync', async () => {
    @Module({
      providers: [{ provide: 'CONFIG', useValue: { path: '/from-config', maxPayloadBytes: 512 } }],
      exports: ['CONFIG'],
    })
    class ConfigModule {}
    h = await startApp(
      WsHubModule.forRootAsync({
        imports: [ConfigModule],
        inject: ['CONFIG'],
        useFactory: async (config: { path: string; maxPayloadBytes: number }) => {
          await sleep(10);
          return {
            path: config.path,
            maxPayloadBytes: config.maxPayloadBytes,
            pingIntervalMs: 1234,
          };
        },
      }),
      '/from-config',
    );
    await expect(TestClient.connect(`ws://127.0.0.1:${h.port}/ws`)).rejects.toThrow();
    const c = await connect();
    expect(c.frames[0].data.pingIntervalMs).toBe(1234);
    c.send({ event: 'message', data: 'x'.repeat(600) });
    expect(await c.closed()).toBe(1009);
  });

  it('takes options from a useClass factory', async () => {
    class HubConfig {
      createWsHubOptions() {
        return { path: '/by-class' };
      }
    }
    h = await startApp(WsHubModule.forRootAsync({ useClass: HubConfig }), '/by-class');
    const c = await connect();
    expect(h.hub.isOnline(c.id)).toBe(true);
  });

  it('takes options from a useExisting factory', async () => {
    class HubConfig {
      createWsHubOptions() {
        return { path: '/existing' };
      }
    }
    @Module({ providers: [HubConfig], exports: [HubConfig] })
    class HubConfigModule {}
    h = await startApp(
      WsHubModule.forRootAsync({ imports: [HubConfigModule], useExisting: HubConfig }),
      '/existing',
    );
    const c = await connect();
    expect(h.hub.isOnline(c.id)).toBe(true);
  });

  it('leaves no timers, sockets or listeners behind after app.close()', async () => {
    const count = (kind: string) =>
      process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const before = {
      timers: count('Timeout'),
      tcp: count('TCPSocketWrap'),
      servers: count('TCPServerWrap'),
    };
    h = await startHub({ pingIntervalMs: 200 });
    const server = h.app.getHttpServer();
    const all = await Promise.all([1, 2, 3].map(() => connect()));
    all[0].send({ event: 'join', id: 1, data: { room: 'r' } });
    await all[0].next((f) => f.event === 'joined');
    const upgradeListeners = server.listenerCount('upgrade');
    expect(upgradeListeners).toBeGreaterThan(0);
    await h.close();
    h = undefined;
    await waitFor(() => all.every((c) => c.ws.readyState === WebSocket.CLOSED));
    await waitFor(
      () =>
        count('Timeout') <= before.timers &&
        count('TCPSocketWrap') <= before.tcp &&
        count('TCPServerWrap') <= before.servers,
      3000,
    );
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(server.listening).toBe(false);
  });
});
