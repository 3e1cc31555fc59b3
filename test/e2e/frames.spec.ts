import { describe, expect, it } from 'vitest';
import { startHub, type HubApp, closeAfterEach } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';

// One payload per WebSocket length encoding: 7-bit (< 126), 16-bit (<= 65535), 64-bit.
const SIZES = [10, 125, 126, 1000, 65_535 - 40, 65_536, 300_000];

function payloadOf(size: number, i: number): string {
  // varied content (multi-byte characters included) so a corrupted frame cannot pass
  return ('é' + String(i) + 'ab✓').repeat(Math.ceil(size / 7)).slice(0, size);
}

describe('broadcast frames (serialised and framed once)', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('arrive intact for every length encoding', async () => {
    h = await startHub();
    const cs = await Promise.all([1, 2, 3].map(() => TestClient.welcomed(h!.url)));
    clients.push(...cs);
    SIZES.forEach((size, i) => h!.hub.broadcast('sized', { i, text: payloadOf(size, i) }));
    for (const c of cs) {
      await waitFor(() => c.events('sized').length === SIZES.length, 5000);
      expect(c.events('sized').map((f) => f.data)).toEqual(
        SIZES.map((size, i) => ({ i, text: payloadOf(size, i) })),
      );
    }
  });

  it('falls back to send() for a client with permessage-deflate, in order with its other frames', async () => {
    h = await startHub({ perMessageDeflate: true });
    const compressed = await TestClient.welcomed(h.url); // ws clients offer deflate by default
    const plain = await TestClient.welcomed(h.url, { perMessageDeflate: false });
    clients.push(compressed, plain);
    expect(compressed.ws.extensions).toContain('permessage-deflate');
    expect(plain.ws.extensions).toBe('');
    // acks (sent through send(), compressed asynchronously) interleaved with broadcasts: the
    // shared frame must never overtake a frame ws still has queued
    for (let i = 0; i < SIZES.length; i++) {
      compressed.send({ event: 'message', id: i, data: i });
      h.hub.broadcast('sized', { i, text: payloadOf(SIZES[i], i) });
    }
    for (const c of [compressed, plain]) {
      await waitFor(() => c.events('sized').length === SIZES.length, 5000);
      expect(c.events('sized').map((f) => f.data.i)).toEqual(SIZES.map((_, i) => i));
      expect(c.events('sized').map((f) => f.data.text)).toEqual(
        SIZES.map((s, i) => payloadOf(s, i)),
      );
    }
    await waitFor(() => compressed.events('ack').length === SIZES.length);
  });

  it('keeps order when a broadcast follows a reply still queued in ws', async () => {
    h = await startHub({ perMessageDeflate: true, maxPayloadBytes: 1_000_000 });
    const c = await TestClient.welcomed(h.url);
    clients.push(c);
    const big = payloadOf(200_000, 0);
    c.send({ event: 'message', id: 'big', data: big });
    // broadcast as soon as the ack has been handed to ws: it is still being deflated
    await new Promise<void>((resolve) => {
      const sub = h!.hub.messages$.subscribe(() => {
        sub.unsubscribe();
        setImmediate(resolve);
      });
    });
    for (let i = 0; i < 20; i++) h.hub.broadcast('n', i);
    await waitFor(() => c.events('n').length === 20, 5000);
    expect(c.events('n').map((f) => f.data)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await c.next((f) => f.id === 'big')).data).toBe(big);
    // the ack was sent before the broadcasts, so it arrives first
    const order = c.frames.filter((f) => f.id === 'big' || f.event === 'n').map((f) => f.event);
    expect(order[0]).toBe('ack');
  });
});
