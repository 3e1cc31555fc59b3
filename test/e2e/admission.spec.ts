import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { waitFor } from '../helpers/client.js';

/**
 * Issue 20, admission control: `maxHandshakesPerSecond` refuses a burst past the rate with HTTP
 * 503 and a `Retry-After` that spreads the refused clients over the next seconds, and
 * `ws-hub/client` honours it: the whole burst ends connected, at about the rate.
 */

let app: HubApp | undefined;
const clients: WsHubClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await app?.close();
  app = undefined;
});

/** A handshake's answer: 101, or the status and `Retry-After` of its refusal. */
function handshake(url: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (request, response) => {
      response.resume();
      request.destroy();
      resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'] });
    });
  });
}

describe('maxHandshakesPerSecond', () => {
  it("lets a second's worth through, then answers 503 with Retry-After of 1, 2, ... s", async () => {
    app = await startHub({ maxHandshakesPerSecond: 10 });
    const answers = await Promise.all(Array.from({ length: 30 }, () => handshake(app!.url)));
    // (the bucket refills while the 30 handshakes are made: one more may get through)
    const admitted = answers.filter((a) => a.status === 101).length;
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(admitted).toBeLessThanOrEqual(12);
    const refused = answers.filter((a) => a.status !== 101);
    expect(new Set(refused.map((a) => a.status))).toEqual(new Set([503]));
    // the first 10 refused are told 1 s, the next 10 told 2 s: back at the rate
    const told = refused.map((a) => Number(a.retryAfter));
    expect(told.filter((t) => t === 1).length).toBeLessThanOrEqual(11);
    expect(told.filter((t) => t === 1).length).toBeGreaterThanOrEqual(8);
    expect(told.every((t) => t === 1 || t === 2)).toBe(true);
    expect(app.hub.stats().rejectedHandshakes).toEqual({ 503: refused.length });
  });

  it('a burst of ws-hub/client clients past the rate: refused, they wait as told, all end connected at about the rate', async () => {
    const rate = 25;
    const burst = 100;
    app = await startHub({ maxHandshakesPerSecond: rate, drainMs: 0 });
    const welcomedAt: number[] = [];
    app.hub.connected$.subscribe(() => welcomedAt.push(performance.now()));
    const refusals: HubStateChange[] = [];
    const startedAt = performance.now();
    for (let i = 0; i < burst; i++) {
      const c = createHubClient(app.url, { WebSocket, recovery: false });
      c.onState((x) => {
        if (x.state === 'reconnecting') refusals.push(x);
      });
      clients.push(c);
    }
    // 25 at once, then the 75 refused told 1, 2, 3 s (plus the client's random second): all
    // connected within 4 s and a margin
    await waitFor(() => clients.every((c) => c.state === 'open'), 8000, 20);
    const allInMs = performance.now() - startedAt;
    expect(allInMs).toBeLessThan(6000);
    expect(app.hub.online).toBe(burst);
    expect(welcomedAt).toHaveLength(burst);
    // every refusal was a 503 whose Retry-After the client waited (never a shorter backoff)
    // (the bucket refills while the clients are created: a few more get in at once)
    expect(refusals.length).toBeGreaterThanOrEqual(burst - 2 * rate);
    for (const r of refusals) {
      expect(r).toMatchObject({
        reason: 'HTTP 503',
        cause: expect.stringMatching(/lost|unreachable/),
      });
      expect((r as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(1000);
    }
    // admitted at about the rate: never more than a second's worth (plus the bucket) in a second
    const offsets = welcomedAt.map((t) => t - startedAt).sort((a, b) => a - b);
    for (let i = 0; i < offsets.length; i++) {
      const inNextSecond = offsets.filter((t) => t >= offsets[i] && t < offsets[i] + 1000).length;
      expect(inNextSecond).toBeLessThanOrEqual(2 * rate);
    }
    expect(app.hub.stats().rejectedHandshakes[503]).toBe(refusals.length);
  });
});
