import { interval, map } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubError } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

let ticks = 0;

describe('wire protocol v1', () => {
  let h: HubApp;
  beforeAll(async () => {
    h = await startHub({ rateLimit: false, maxInvalidFrames: 1000 });
    h.hub.handle('explode', () => {
      throw new Error('boom (sync)');
    });
    h.hub.handle('explode-later', async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('boom (async)');
    });
    h.hub.handle('refuse', () => {
      throw new HubError('FORBIDDEN', 'not for you');
    });
    h.hub.handle('sum', (_ctx, data: number[]) => data.reduce((a, b) => a + b, 0));
    h.hub.handle('weird', () => {
      throw Object.create(null);
    });
    h.hub.handle('strict', () => {
      throw new HubError('FORBIDDEN', 'x'.repeat(300), 1008);
    });
    h.hub.handle('ticks', () =>
      interval(20).pipe(
        map((n) => {
          ticks++;
          return n;
        }),
      ),
    );
  });
  afterAll(async () => h.close());

  it('sends welcome first, with the client id and ping interval', async () => {
    const c = await TestClient.connect(h.url);
    const first = await c.next();
    expect(first.event).toBe('welcome');
    expect(first.data.clientId).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(first.data.pingIntervalMs).toBe(25000);
    expect(h.hub.isOnline(first.data.clientId)).toBe(true);
    await c.close();
  });

  it('acks a message with its id and the same data', async () => {
    const c = await TestClient.welcomed(h.url);
    const data = {
      text: 'héllo wörld ✓ 漢字 🚀',
      nested: { deep: [1, { two: [3, null, true] }], empty: {} },
      n: -1.5e-7,
    };
    expect(await c.request({ event: 'message', id: 7, data })).toEqual({
      event: 'ack',
      id: 7,
      data,
    });
    expect(await c.request({ event: 'message', id: 'abc-1', data: 'x' })).toEqual({
      event: 'ack',
      id: 'abc-1',
      data: 'x',
    });
    // the raw frame keeps the documented key order
    expect(c.raw.at(-1)).toBe('{"event":"ack","id":"abc-1","data":"x"}');
    await c.close();
  });

  it('acks without id when the frame has none', async () => {
    const c = await TestClient.welcomed(h.url);
    c.send({ event: 'message', data: [1, 2, 3] });
    const ack = await c.next((f) => f.event === 'ack');
    expect(ack).toEqual({ event: 'ack', data: [1, 2, 3] });
    expect('id' in ack).toBe(false);
    await c.close();
  });

  it('answers ping with pong and the server time', async () => {
    const c = await TestClient.welcomed(h.url);
    const before = Date.now();
    const pong = await c.request({ event: 'ping', id: 8 });
    expect(pong.event).toBe('pong');
    expect(pong.id).toBe(8);
    expect(pong.data.ts).toBeGreaterThanOrEqual(before);
    expect(pong.data.ts).toBeLessThanOrEqual(Date.now());
    await c.close();
  });

  it.each([
    ['not json', 'not json', 'BAD_JSON', undefined],
    ['truncated json', '{"event":"message"', 'BAD_JSON', undefined],
    ['array', '[1,2]', 'BAD_ENVELOPE', undefined],
    ['string', '"message"', 'BAD_ENVELOPE', undefined],
    ['null', 'null', 'BAD_ENVELOPE', undefined],
    ['missing event', '{"id":5,"data":1}', 'BAD_ENVELOPE', 5],
    ['numeric event', '{"event":42,"id":"q"}', 'BAD_ENVELOPE', 'q'],
    ['object id', '{"event":"message","id":{"a":1}}', 'BAD_ENVELOPE', undefined],
    ['unknown event', '{"event":"nope","id":9}', 'UNKNOWN_EVENT', 9],
    ['inherited name as event', '{"event":"constructor","id":10}', 'UNKNOWN_EVENT', 10],
  ])('answers %s with %s and stays usable', async (_name, frame, code, id) => {
    const c = await TestClient.welcomed(h.url);
    c.send(frame);
    const err = await c.next((f) => f.event === 'error');
    expect(err.data.code).toBe(code);
    expect(typeof err.data.message).toBe('string');
    expect(err.id).toBe(id);
    expect(await c.request({ event: 'message', id: 'after', data: 1 })).toEqual({
      event: 'ack',
      id: 'after',
      data: 1,
    });
    await c.close();
  });

  it('answers a binary frame with BINARY_UNSUPPORTED', async () => {
    const c = await TestClient.welcomed(h.url);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.next((f) => f.event === 'error')).data.code).toBe('BINARY_UNSUPPORTED');
    expect(await c.request({ event: 'message', id: 1, data: 'ok' })).toMatchObject({
      event: 'ack',
    });
    await c.close();
  });

  it('answers a failing handler with INTERNAL (sync and async) and keeps other clients unaffected', async () => {
    const logs = captureLogs(/handler failed/);
    const c = await TestClient.welcomed(h.url);
    const other = await TestClient.welcomed(h.url);
    const err1 = await c.request({ event: 'explode', id: 'e1' });
    expect(err1).toEqual({
      event: 'error',
      id: 'e1',
      data: { code: 'INTERNAL', message: 'internal error' },
    });
    const err2 = await c.request({ event: 'explode-later', id: 'e2' });
    expect(err2.data.code).toBe('INTERNAL');
    // the error message of the exception is not leaked to the client
    expect(JSON.stringify(c.frames)).not.toContain('boom');
    expect(await c.request({ event: 'message', id: 3, data: 'still here' })).toMatchObject({
      data: 'still here',
    });
    expect(await other.request({ event: 'message', id: 4, data: 'me too' })).toMatchObject({
      data: 'me too',
    });
    expect(other.events('error')).toHaveLength(0);
    // ...but it is logged, with the client id, for the operator
    expect(logs.errors()).toEqual([
      `handler failed for client ${c.id}: boom (sync)`,
      `handler failed for client ${c.id}: boom (async)`,
    ]);
    expect(logs.entries.filter((e) => e.level === 'error').map((e) => e.context)).toEqual([
      'WsHub',
      'WsHub',
    ]);
    await Promise.all([c.close(), other.close()]);
  });

  it('lets a handler answer a specific error code with HubError', async () => {
    const c = await TestClient.welcomed(h.url);
    expect(await c.request({ event: 'refuse', id: 1 })).toEqual({
      event: 'error',
      id: 1,
      data: { code: 'FORBIDDEN', message: 'not for you' },
    });
    expect(await c.request({ event: 'sum', id: 2, data: [1, 2, 3] })).toEqual({
      event: 'sum',
      id: 2,
      data: 6,
    });
    await c.close();
  });

  it('matches replies by id when they arrive out of order', async () => {
    const logs = captureLogs(/handler failed/);
    const c = await TestClient.welcomed(h.url);
    c.send({ event: 'explode-later', id: 'slow' });
    c.send({ event: 'message', id: 'fast', data: 1 });
    await waitFor(() => c.frames.some((f) => f.id === 'slow'));
    const ids = c.frames.filter((f) => f.id !== undefined).map((f) => f.id);
    expect(ids).toEqual(['fast', 'slow']);
    expect(logs.errors()).toEqual([`handler failed for client ${c.id}: boom (async)`]);
    await c.close();
  });

  it('answers a handler that throws a value without a prototype with INTERNAL', async () => {
    const logs = captureLogs(/handler failed/);
    const c = await TestClient.welcomed(h.url);
    expect((await c.request({ event: 'weird', id: 'w' })).data.code).toBe('INTERNAL');
    expect(logs.errors()).toEqual([
      `handler failed for client ${c.id}: a thrown object (not an Error; its value is not logged)`,
    ]);
    expect(await c.request({ event: 'message', id: 2, data: 1 })).toMatchObject({ event: 'ack' });
    await c.close();
  });

  it('closes the connection when a handler throws HubError with a close code', async () => {
    const c = await TestClient.welcomed(h.url);
    const err = await c.request({ event: 'strict', id: 's' });
    expect(err.data.code).toBe('FORBIDDEN');
    expect(await c.closed()).toBe(1008);
    expect(c.closeReason).toBe('FORBIDDEN');
  });

  it('sends every emission of an Observable reply with the id, and stops when the client goes', async () => {
    const c = await TestClient.welcomed(h.url);
    c.send({ event: 'ticks', id: 't' });
    await waitFor(() => c.events('ticks').length >= 3);
    expect(c.events('ticks').slice(0, 3)).toEqual([
      { event: 'ticks', id: 't', data: 0 },
      { event: 'ticks', id: 't', data: 1 },
      { event: 'ticks', id: 't', data: 2 },
    ]);
    await c.close();
    await waitFor(() => h.hub.online === 0);
    const after = ticks;
    await new Promise((r) => setTimeout(r, 150));
    expect(ticks).toBe(after);
  });
});
