import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient, waitFor } from '../helpers/client.js';

const MAX_PAYLOAD = 16 * 1024;
const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/** A JSON-ish value with the keys attackers like. */
const nastyKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'event',
  'id',
  'data',
);
const nastyObject = fc.dictionary(fc.oneof(nastyKey, fc.string()), fc.jsonValue({ maxDepth: 3 }), {
  maxKeys: 6,
});
const deepNesting = fc
  .integer({ min: 1, max: 5000 })
  .map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const frameText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.json({ maxDepth: 4 }),
  nastyObject.map((o) => JSON.stringify(o)),
  fc
    .record(
      {
        event: fc.oneof(fc.constantFrom('message', 'ping', 'join', 'leave', 'nope'), fc.string()),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 140 }), fc.constant(null), fc.double()),
        data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), nastyObject),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  deepNesting,
  deepNesting.map((n) => `{"event":"message","data":${n}}`),
  fc
    .integer({ min: MAX_PAYLOAD - 200, max: MAX_PAYLOAD - 40 })
    .map((n) => JSON.stringify({ event: 'message', id: 1, data: 'x'.repeat(n) })),
  fc.constant(
    '{"__proto__":{"polluted":1},"event":"message","data":{"constructor":{"prototype":{"polluted":1}}}}',
  ),
);
const frame = fc.oneof(
  { weight: 8, arbitrary: frameText.map((text) => ({ binary: false as const, text })) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ binary: true as const, bytes })),
  },
);

describe('fuzzing the protocol (fast-check)', () => {
  let h: HubApp;
  let witness: TestClient;
  beforeAll(async () => {
    h = await startHub({
      maxPayloadBytes: MAX_PAYLOAD,
      rateLimit: false,
      maxInvalidFrames: 1_000_000,
    });
    witness = await TestClient.welcomed(h.url);
  });
  afterAll(async () => {
    witness.terminate();
    await h.close();
  });

  it('answers every frame, never crashes or pollutes prototypes, and keeps serving others', async () => {
    const keysBefore = prototypeKeys();
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    let round = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 12 }), async (frames) => {
          const c = await TestClient.welcomed(h.url);
          try {
            const before = c.frames.length;
            for (const f of frames) {
              if (f.binary) c.ws.send(f.bytes, { binary: true });
              else c.ws.send(f.text);
            }
            // every frame gets exactly one answer (ack, pong, joined, left or error). A sentinel
            // ping marks the end; a join's answer is asynchronous, so when ws hands the server
            // several frames in one tick it may come after the sentinel's: wait for the count,
            // then a second sentinel round trip shows that no extra answer follows.
            const marker = `sentinel-${round++}`;
            const answers = () =>
              c.frames.slice(before).filter((x) => !String(x.id).startsWith(marker));
            c.send({ event: 'ping', id: marker });
            await c.next((x) => x.id === marker, 5000, before);
            await waitFor(() => answers().length >= frames.length, 5000);
            await c.request({ event: 'ping', id: `${marker}-end` });
            expect(answers()).toHaveLength(frames.length);
            for (const a of answers())
              expect(['ack', 'pong', 'joined', 'left', 'error']).toContain(a.event);
            // other clients never notice
            expect(
              await witness.request({ event: 'message', id: marker, data: 'alive' }),
            ).toMatchObject({ data: 'alive' });
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
            await c.close();
          } finally {
            c.terminate();
          }
          // the registry matches the open sockets
          await waitFor(() => h.hub.online === 1);
          return true;
        }),
        { numRuns: 150 },
      );
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(prototypeKeys()).toBe(keysBefore);
    expect(h.hub.online).toBe(1);
    expect(h.hub.rooms()).toEqual([]);
  }, 120_000);

  it('survives random raw bytes on the TCP socket (not even WebSocket framing)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        const c = await TestClient.welcomed(h.url);
        try {
          const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
          socket.write(bytes);
          // the server either ignores a partial frame or closes with a protocol error code
          await Promise.race([
            c.closed(2000).catch(() => undefined),
            new Promise((r) => setTimeout(r, 30)),
          ]);
        } finally {
          c.terminate();
        }
        await waitFor(() => h.hub.online === 1, 3000);
        expect(await witness.request({ event: 'message', id: 'raw', data: 1 })).toMatchObject({
          event: 'ack',
        });
        return true;
      }),
      { numRuns: 60 },
    );
    expect(witness.ws.readyState).toBe(WebSocket.OPEN);
  }, 120_000);
});
