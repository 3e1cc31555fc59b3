import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setup } from './fake-socket.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('url given as a function', () => {
  it('is called before every attempt, so a client can rotate through instances', async () => {
    const urls = ['ws://a.test/ws', 'ws://b.test/ws'];
    let n = 0;
    const url = vi.fn(() => urls[n++ % urls.length]);
    const h = setup({}, url);
    expect(h.socket.url).toBe('ws://a.test/ws');
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    expect(h.socket.url).toBe('ws://b.test/ws');
    h.socket.drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.sockets.map((s) => s.url)).toEqual([
      'ws://a.test/ws',
      'ws://b.test/ws',
      'ws://a.test/ws',
    ]);
    expect(url).toHaveBeenCalledTimes(3);
  });

  it('stops with cause invalid when it throws', async () => {
    const h = setup({}, () => {
      throw new Error('no instance left');
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sockets).toHaveLength(0);
    expect(h.lastChange).toMatchObject({ state: 'closed', cause: 'invalid', willRetry: false });
    expect(h.lastChange).toMatchObject({ reason: expect.stringContaining('no instance left') });
  });
});
