import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HubDisconnectedError,
  HubRequestError,
  HubTimeoutError,
} from '../../../src/ws-hub/client/index.js';
import { capture, flush, openClient, setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('requests', () => {
  it('sends {event, id, data} and resolves with the reply data, matched by id', async () => {
    const { client, socket } = openClient();
    const a = capture(client.request('message', { text: 'a' }));
    const b = capture(client.request('ping'));
    const [fa, fb] = socket.sent;
    expect(fa).toEqual({ event: 'message', id: expect.any(Number), data: { text: 'a' } });
    expect(fb).toEqual({ event: 'ping', id: expect.any(Number) });
    expect(fa.id).not.toBe(fb.id);
    socket.push({ event: 'pong', id: fb.id, data: { ts: 1 } }); // out of order
    socket.push({ event: 'ack', id: fa.id, data: { text: 'a' } });
    await flush();
    expect(a.value).toEqual({ text: 'a' });
    expect(b.value).toEqual({ ts: 1 });
  });

  it('rejects with HubRequestError carrying the server code and message', async () => {
    const { client, socket } = openClient();
    const onError = vi.fn();
    client.on('error', onError);
    const r = capture(client.request('nope', 1));
    socket.push({
      event: 'error',
      id: socket.last('nope').id,
      data: { code: 'UNKNOWN_EVENT', message: 'no handler for nope' },
    });
    await flush();
    expect(r.error).toBeInstanceOf(HubRequestError);
    expect(r.error).toMatchObject({ code: 'UNKNOWN_EVENT', message: 'no handler for nope' });
    expect(onError).not.toHaveBeenCalled();
  });

  it('HubRequestError carries the details the server sent (e.g. ValidationPipe messages)', async () => {
    const { client, socket } = openClient();
    const r = capture(client.request('chat', { text: 1 }));
    const details = { messages: ['text must be a string'] };
    socket.push({
      event: 'error',
      id: socket.last('chat').id,
      data: { code: 'BAD_REQUEST', message: 'Bad Request', details },
    });
    await flush();
    expect(r.error).toMatchObject({ code: 'BAD_REQUEST', message: 'Bad Request', details });
  });

  it('rejects with HubTimeoutError after timeoutMs; a late reply is dropped', async () => {
    const { client, socket } = openClient({ requestTimeoutMs: 5000 });
    const onAck = vi.fn();
    client.on('ack', onAck);
    const custom = capture(client.request('message', 1, { timeoutMs: 100 }));
    const byDefault = capture(client.request('message', 2));
    vi.advanceTimersByTime(100);
    await flush();
    expect(custom.error).toBeInstanceOf(HubTimeoutError);
    expect(byDefault.settled).toBe(false);
    vi.advanceTimersByTime(4900);
    await flush();
    expect(byDefault.error).toBeInstanceOf(HubTimeoutError);
    socket.push({ event: 'ack', id: socket.sent[0].id, data: 1 });
    expect(onAck).not.toHaveBeenCalled();
  });

  it('rejects with HubDisconnectedError when the connection drops before the reply', async () => {
    const { client, socket } = openClient();
    const r = capture(client.request('message', 1));
    socket.drop(1006);
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
  });

  it('rejects pending requests on close() and refuses new ones', async () => {
    const { client } = openClient();
    const r = capture(client.request('message', 1));
    client.close();
    const after = capture(client.request('message', 2));
    await flush();
    expect(r.error).toBeInstanceOf(HubDisconnectedError);
    expect(after.error).toBeInstanceOf(HubDisconnectedError);
    await expect(client.send('message', 3)).rejects.toThrow(HubDisconnectedError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a frame larger than maxPayloadBytes without sending it', async () => {
    const { client, socket } = openClient();
    socket.sent.length = 0;
    socket.welcome({ maxPayloadBytes: 100 }); // (a second welcome is ignored while open)
    expect(client.welcome?.maxPayloadBytes).toBe(65_536);
    const h = setup();
    h.socket.welcome({ maxPayloadBytes: 100 });
    const big = capture(h.client.request('message', 'é'.repeat(60))); // 120+ bytes in UTF-8
    const small = capture(h.client.request('message', 'e'.repeat(40)));
    await flush();
    expect(big.error).toMatchObject({ name: 'HubRequestError', code: 'PAYLOAD_TOO_LARGE' });
    expect(small.settled).toBe(false);
    await expect(h.client.send('message', 'x'.repeat(200))).rejects.toThrow(
      /larger than 100 bytes/,
    );
    expect(h.socket.sent.map((f) => f.data)).toEqual(['e'.repeat(40)]);
  });
});

describe('pushes and errors', () => {
  it('delivers server pushes to on(event) listeners until unsubscribed', () => {
    const { client, socket } = openClient();
    const chat = vi.fn();
    const other = vi.fn();
    const off = client.on('chat', chat);
    client.on('other', other);
    socket.push({ event: 'chat', data: { text: 'hi' } });
    off();
    socket.push({ event: 'chat', data: { text: 'again' } });
    expect(chat).toHaveBeenCalledOnce();
    expect(chat).toHaveBeenCalledWith({ text: 'hi' });
    expect(other).not.toHaveBeenCalled();
  });

  it('emits error frames that answer no pending request on "error"', () => {
    const { client, socket } = openClient();
    const onError = vi.fn();
    client.on('error', onError);
    socket.push({ event: 'error', data: { code: 'RATE_LIMITED', message: 'slow down' } });
    socket.push({ event: 'error', id: 999, data: { code: 'BAD_ENVELOPE', message: 'bad' } });
    expect(onError.mock.calls).toEqual([
      [{ code: 'RATE_LIMITED', message: 'slow down' }],
      [{ code: 'BAD_ENVELOPE', message: 'bad' }],
    ]);
  });

  it('ignores frames that are not JSON envelopes', () => {
    const { client, socket } = openClient();
    const listener = vi.fn();
    client.on('x', listener);
    socket.onmessage!({ data: 'not json' });
    socket.onmessage!({ data: '42' });
    socket.onmessage!({ data: 'null' });
    socket.onmessage!({ data: new Uint8Array(3) });
    socket.push({ event: 'x', data: 1 });
    expect(listener).toHaveBeenCalledOnce();
    expect(client.state).toBe('open');
  });

  it('send() writes a frame without id', () => {
    const { client, socket } = openClient();
    client.send('message', { text: 'x' });
    expect(socket.sent).toEqual([{ event: 'message', data: { text: 'x' } }]);
  });
});
