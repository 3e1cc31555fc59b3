import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { PROTOCOLS, Recovering } from '../helpers/recovering-client.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

describe('message recovery on one instance', () => {
  let h: HubApp | undefined;
  let proxy: TcpProxy | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await proxy?.close();
    proxy = undefined;
    await h?.close();
    h = undefined;
  });

  const start = async () => {
    h = await startHub({
      recovery: true,
      authenticate: (_r, { token }) => (token ? { userId: token } : null),
    });
    proxy = await startTcpProxy(h.port);
    return `ws://127.0.0.1:${proxy.port}/ws`;
  };

  it('resumes after a cut without close frame: exactly the missed messages, in order, then live', async () => {
    const url = await start();
    const r = new Recovering();
    const first = await r.connect(url, 'ann');
    clients.push(r.c);
    expect(first.data.recovery).toMatchObject({ recovered: false, session: expect.any(String) });
    await r.join('lobby');
    h!.hub.broadcast('news', 0);
    await waitFor(() => r.pushes.length === 1);

    proxy!.cut(); // no close frame either way
    await waitFor(() => h!.hub.online === 0);
    const id = r.clientId;
    for (let i = 1; i <= 3; i++) h!.hub.broadcast('news', i);
    h!.hub.broadcast('chat', 'in lobby', { rooms: 'lobby' });
    h!.hub.broadcast('chat', 'elsewhere', { rooms: 'other' });
    h!.hub.sendToUser('ann', 'dm', 'for ann');
    h!.hub.sendToUser('bob', 'dm', 'for bob');
    expect(h!.hub.send(id, 'direct', 'to you')).toBe(true); // its session can be resumed: recorded

    const before = r.pushes.length;
    const welcome = await r.connect(url, 'ann');
    clients.push(r.c);
    expect(welcome.id).toBe('r');
    expect(welcome.data.clientId).toBe(id);
    expect(welcome.data.recovery.recovered).toBe(true);
    await waitFor(() => r.pushes.length === before + 6);
    expect(r.pushes.slice(before).map((f) => [f.event, f.data])).toEqual([
      ['news', 1],
      ['news', 2],
      ['news', 3],
      ['chat', 'in lobby'],
      ['dm', 'for ann'],
      ['direct', 'to you'],
    ]);
    expect(h!.hub.roomsOf(id)).toEqual(['lobby']);
    // live after the replay, on the same id
    h!.hub.send(id, 'direct', 'now');
    h!.hub.broadcast('news', 4);
    await waitFor(() => r.pushes.length === before + 8);
    expect(r.pushes.slice(before + 6).map((f) => f.data)).toEqual(['now', 4]);
    // a second round trip shows no duplicate came after
    await r.c.request({ event: 'ping', id: 'p' });
    expect(r.pushes.length).toBe(before + 8);
  });

  it('sends plain v1 frames to clients that did not ask for recovery', async () => {
    const url = await start();
    const plain = await TestClient.welcomed(url + '?token=bob');
    clients.push(plain);
    expect(plain.ws.protocol).toBe('');
    h!.hub.broadcast('news', 1);
    expect(await plain.next((f) => f.event === 'news')).toEqual({ event: 'news', data: 1 });
  });

  it('answers recovered: false with a fresh session for a forged, replayed or foreign credential', async () => {
    const url = await start();
    const ann = new Recovering();
    await ann.connect(url, 'ann');
    clients.push(ann.c);
    const stolen = ann.session!;
    const annId = ann.clientId;

    // forged: right client id, wrong secret
    const forger = new Recovering();
    forger.session = annId + '~AAAAAAAAAAAAAAAAAAAAAAAA';
    const forged = await forger.connect(url, 'ann');
    clients.push(forger.c);
    expect(forged.data.recovery.recovered).toBe(false);
    expect(forged.data.clientId).not.toBe(annId);

    // another user presenting ann's real credential
    const mallory = new Recovering();
    mallory.session = stolen;
    mallory.positions.set('user:ann', { epoch: 'x', offset: 0 });
    const foreign = await mallory.connect(url, 'mallory');
    clients.push(mallory.c);
    expect(foreign.data.recovery.recovered).toBe(false);
    expect(foreign.data.clientId).not.toBe(annId);
    expect(Object.keys(foreign.data.recovery.streams)).not.toContain('user:ann');

    // ann resumes once; the same credential a second time is refused
    ann.c.terminate();
    await waitFor(() => h!.hub.online === 2);
    const again = new Recovering();
    again.session = stolen;
    expect((await again.connect(url, 'ann')).data).toMatchObject({
      clientId: annId,
      recovery: { recovered: true },
    });
    clients.push(again.c);
    const replay = new Recovering();
    replay.session = stolen;
    const replayed = await replay.connect(url, 'ann');
    clients.push(replay.c);
    expect(replayed.data.recovery.recovered).toBe(false);
    expect(replayed.data.clientId).not.toBe(annId);
  });

  it('refuses frames before "recover", and closes a connection that never sends it', async () => {
    const url = await start();
    const c = await TestClient.connect(url + '?token=ann', { protocols: PROTOCOLS });
    clients.push(c);
    c.send({ event: 'message', id: 1, data: 1 });
    expect(await c.next((f) => f.id === 1)).toEqual({
      event: 'error',
      id: 1,
      data: { code: 'BAD_ENVELOPE', message: 'the first frame must be "recover"' },
    });
    expect(c.frames.some((f) => f.event === 'welcome')).toBe(false);
  });
});
