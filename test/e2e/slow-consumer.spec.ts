import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HubDisconnectedEvent } from '../../src/ws-hub/index.js';
import { startHub, type HubApp, closeAfterEach } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';

const MESSAGE_BYTES = 64 * 1024;
const MESSAGES = 800; // 800 x 64 KiB = 51.2 MiB broadcast in total
const FAST_CLIENTS = 3;
const READER = fileURLToPath(new URL('../fixtures/bulk-reader.mjs', import.meta.url));

/**
 * Broadcasts MESSAGES numbered messages, pacing on the fast clients (never more than 8
 * messages ahead of the slowest fast one, as they report) so they never look slow
 * themselves, while one client has paused its TCP socket and reads nothing. The fast
 * clients run in a child process: this process holds only the server and the stalled client.
 */
async function run(policy: 'drop' | 'close') {
  const h = await startHub({
    slowConsumer: policy,
    maxBufferedBytes: 1024 * 1024,
    rateLimit: false,
  });
  const events: HubDisconnectedEvent[] = [];
  h.hub.disconnected$.subscribe((e) => events.push(e));
  const slow = await TestClient.welcomed(h.url);
  // Stop reading: the kernel buffers fill, then the server's buffer for this client grows.
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

  const progress = new Map<number, number>();
  h.hub.messages$.subscribe((m) => {
    const d = m.data as { client: number; seq: number };
    progress.set(d.client, d.seq);
  });
  const child = spawn(process.execPath, [READER, h.url, String(FAST_CLIENTS), String(MESSAGES)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // The reader's stderr is shown only when it fails (see the exit code assertions).
  let stderr = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  await waitFor(() => h.hub.online === FAST_CLIENTS + 1, 5000);
  const minProgress = () => (progress.size < FAST_CLIENTS ? -1 : Math.min(...progress.values()));

  const filler = 'x'.repeat(MESSAGE_BYTES - 40);
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakBuffers = baseline.arrayBuffers;
  for (let seq = 0; seq < MESSAGES; seq++) {
    h.hub.broadcast('bulk', { seq, filler });
    if (seq % 4 === 3) {
      await waitFor(() => minProgress() >= seq - 8, 10_000, 1);
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    }
  }
  const [code] = await exited;
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
  return { h, slow, result, code, stderr, events, baseline, peakRss, peakBuffers };
}

describe('slow consumers', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it("'close': terminates the stalled client with 1013, keeps memory bounded, others get everything in order", async () => {
    const r = await run('close');
    h = r.h;
    clients.push(r.slow);
    expect(r.code, `bulk reader failed: ${r.stderr}`).toBe(0);
    expect(r.result.ok).toBe(true);
    for (const got of r.result.results)
      expect(got).toEqual({ count: MESSAGES, inOrder: true, last: MESSAGES - 1 });
    const slowEvent = r.events.find((e) => e.clientId === r.slow.id);
    expect(slowEvent).toMatchObject({ code: 1013, reason: 'slow-consumer' });
    expect(r.h.hub.isOnline(r.slow.id)).toBe(false);
    expect(r.h.hub.stats().slowConsumersClosed).toBe(1);
    expect(r.events.filter((e) => e.reason === 'slow-consumer')).toHaveLength(1);
    // 51 MiB were broadcast; what stays buffered for the stalled client is bounded by
    // maxBufferedBytes plus one message. Generous bounds (measured: a few MiB).
    expect(r.peakBuffers - r.baseline.arrayBuffers).toBeLessThan(24 * 1024 * 1024);
    expect(r.peakRss - r.baseline.rss).toBeLessThan(96 * 1024 * 1024);
    console.log(
      `slow consumer 'close': peak arrayBuffers +${((r.peakBuffers - r.baseline.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, ` +
        `peak rss +${((r.peakRss - r.baseline.rss) / 2 ** 20).toFixed(1)} MiB`,
    );
  }, 60_000);

  it("'drop': skips messages for the stalled client, counts them, and it gets the rest in order once it reads", async () => {
    const r = await run('drop');
    h = r.h;
    clients.push(r.slow);
    expect(r.code, `bulk reader failed: ${r.stderr}`).toBe(0);
    expect(r.result.ok).toBe(true);
    for (const got of r.result.results)
      expect(got).toEqual({ count: MESSAGES, inOrder: true, last: MESSAGES - 1 });
    expect(r.h.hub.isOnline(r.slow.id)).toBe(true);
    const info = r.h.hub.client(r.slow.id)!;
    expect(info.droppedMessages).toBeGreaterThan(MESSAGES / 2);
    expect(r.h.hub.stats().droppedMessages).toBe(info.droppedMessages);
    expect(r.peakBuffers - r.baseline.arrayBuffers).toBeLessThan(24 * 1024 * 1024);
    expect(r.peakRss - r.baseline.rss).toBeLessThan(96 * 1024 * 1024);
    expect(r.events.filter((e) => e.reason === 'slow-consumer')).toHaveLength(0);
    // resume reading: what was kept arrives intact and in order, with gaps where dropped
    const seqs: number[] = [];
    r.slow.ws.on('message', (raw: Buffer) => {
      const m = /^\{"event":"bulk","data":\{"seq":(\d+)/.exec(raw.subarray(0, 64).toString());
      if (m) seqs.push(Number(m[1]));
    });
    (r.slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => seqs.length >= MESSAGES - info.droppedMessages, 10_000);
    expect(seqs.length).toBe(MESSAGES - info.droppedMessages);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    // and it is a normal client again
    expect(await r.slow.request({ event: 'message', id: 'back', data: 1 })).toMatchObject({
      event: 'ack',
    });
    console.log(
      `slow consumer 'drop': ${info.droppedMessages} of ${MESSAGES} dropped, peak arrayBuffers ` +
        `+${((r.peakBuffers - r.baseline.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, peak rss +${((r.peakRss - r.baseline.rss) / 2 ** 20).toFixed(1)} MiB`,
    );
  }, 60_000);
});
