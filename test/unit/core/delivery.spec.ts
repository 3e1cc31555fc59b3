import { describe, expect, it } from 'vitest';
import type {
  ClientReceiver,
  Connection,
  ReceiverMessage,
} from '../../../src/ws-hub/core/connection.js';
import { OutgoingFrame, tcpOf } from '../../../src/ws-hub/core/frame-writer.js';
import type { HubDisconnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import type { WsHubModuleOptions } from '../../../src/ws-hub/interfaces/options.interface.js';
import { CloseCode, DisconnectReason } from '../../../src/ws-hub/protocol/constants.js';
import { sleep, waitFor } from '../../helpers/client.js';
import { type CoreParts, useCoreParts } from '../../helpers/core-parts.js';
import { type WsPair } from '../../helpers/ws-pairs.js';

let core: CoreParts | undefined;
let left: HubDisconnectedEvent[];

const fixture = useCoreParts();

function setup(options: WsHubModuleOptions = {}): CoreParts {
  core = fixture.build({ welcome: false, ...options });
  left = [];
  core.events.disconnected.subscribe((e) => left.push(e));
  return core;
}

interface Peer {
  client: Connection;
  pair: WsPair;
}

async function connect(c: CoreParts, userId?: string): Promise<Peer> {
  const pair = await fixture.pairs.connect();
  const client = c.registrar.register(pair.server, {
    ip: '127.0.0.1',
    principal: userId === undefined ? undefined : { userId },
  });
  return { client, pair };
}

/** Holds what is written to a client's socket in its write buffer (it counts in bufferedAmount). */
function stall(peer: Peer): () => void {
  const tcp = tcpOf(peer.client.socket)!;
  tcp.cork();
  return () => tcp.uncork();
}

/** A receiver that records the messages it is handed. */
function receiver(log: string[]): ClientReceiver {
  return {
    firstFrame: undefined,
    hold: () => false,
    deliver: (client, message) => {
      log.push(`${client.id} ${(message as unknown as { m: string }).m}`);
      return true;
    },
    roomJoined: () => undefined,
    roomLeft: () => undefined,
    removed: () => undefined,
  };
}

const forReceivers = (m: string) => ({ m }) as unknown as ReceiverMessage;

describe('Delivery', () => {
  describe('text', () => {
    it('writes a frame to the socket and counts it', async () => {
      const c = setup();
      const p = await connect(c);
      expect(c.delivery.text(p.client, '{"event":"a"}')).toBe(true);
      expect(c.delivery.text(p.client, '{"event":"b"}')).toBe(true);
      expect(await p.pair.frames(2)).toEqual(['{"event":"a"}', '{"event":"b"}']);
      expect(c.counters.delivered).toBe(2);
    });

    it('writes nothing to a removed client or a closed socket', async () => {
      const c = setup();
      const p = await connect(c);
      const q = await connect(c);
      c.closer.close(p.client, 1000, '', 'x');
      expect(c.delivery.text(p.client, 'late')).toBe(false);
      q.pair.server.terminate();
      expect(c.delivery.text(q.client, 'late')).toBe(false);
      expect(c.counters.delivered).toBe(0);
    });

    it("slowConsumer 'drop': past maxBufferedBytes the frame is skipped and counted", async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'drop' });
      const p = await connect(c);
      const release = stall(p);
      expect(c.delivery.text(p.client, 'x'.repeat(2000))).toBe(true); // the buffer was empty
      expect(c.delivery.text(p.client, 'dropped')).toBe(false);
      expect(p.client.droppedMessages).toBe(1);
      expect(c.counters.dropped).toBe(1);
      release();
      await waitFor(() => p.client.socket.bufferedAmount === 0);
      expect(c.delivery.text(p.client, 'after')).toBe(true);
      await p.pair.frames(2);
      expect(p.pair.received.map((t) => t.slice(0, 5))).toEqual(['xxxxx', 'after']);
      expect(p.client.removed).toBe(false);
    });

    it("slowConsumer 'close': past maxBufferedBytes the client is closed with 1013", async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'close' });
      const p = await connect(c);
      const release = stall(p);
      c.delivery.text(p.client, 'x'.repeat(2000));
      expect(c.delivery.text(p.client, 'one too many')).toBe(false);
      expect(p.client.removed).toBe(true);
      expect(c.counters.slowClosed).toBe(1);
      expect(left).toEqual([
        expect.objectContaining({ code: 1013, reason: DisconnectReason.SLOW_CONSUMER }),
      ]);
      release();
      expect(await p.pair.closed).toEqual({
        code: CloseCode.TRY_AGAIN_LATER,
        reason: 'slow consumer',
      });
    });
  });

  describe('texts', () => {
    it('writes frames back to back, in order', async () => {
      const c = setup();
      const p = await connect(c);
      const texts = Array.from({ length: 150 }, (_, i) => `m${i}`); // more than one cork chunk
      expect(c.delivery.texts(p.client, texts)).toBe(150);
      expect(await p.pair.frames(150)).toEqual(texts);
      expect(c.counters.delivered).toBe(150);
      expect(tcpOf(p.client.socket)!.writableCorked).toBe(0); // uncorked after
    });

    it('stops at the first frame not admitted: the corked bytes count', async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'drop' });
      const p = await connect(c);
      const texts = ['a'.repeat(600), 'b'.repeat(600), 'c'.repeat(600), 'd'];
      expect(c.delivery.texts(p.client, texts)).toBe(2);
      expect(p.client.droppedMessages).toBe(1);
      const got = await p.pair.frames(2);
      await sleep(20);
      expect(got.map((t) => t[0])).toEqual(['a', 'b']);
    });

    it('strict: a client that must get every frame is closed, whatever slowConsumer says', async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'drop' });
      const p = await connect(c);
      const texts = ['a'.repeat(600), 'b'.repeat(600), 'c'.repeat(600)];
      expect(c.delivery.texts(p.client, texts, true)).toBe(2);
      expect(p.client.droppedMessages).toBe(0);
      expect(c.counters.slowClosed).toBe(1);
      expect((await p.pair.closed).code).toBe(1013);
    });
  });

  describe('strictText and strictFrame', () => {
    it('write while under the limit, close with 1013 past it', async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'drop' });
      const p = await connect(c);
      expect(c.delivery.strictText(p.client, 'one')).toBe(true);
      expect(c.delivery.strictFrame(p.client, new OutgoingFrame('two'))).toBe(true);
      expect(await p.pair.frames(2)).toEqual(['one', 'two']);
      const release = stall(p);
      c.delivery.strictText(p.client, 'x'.repeat(2000));
      expect(c.delivery.strictFrame(p.client, new OutgoingFrame('three'))).toBe(false);
      expect(p.client.removed).toBe(true);
      release();
      expect((await p.pair.closed).code).toBe(1013);
      expect(c.counters.delivered).toBe(3);
    });
  });

  describe('message and toUser', () => {
    it('gives a plain client the plain frame and a receiver its share', async () => {
      const c = setup();
      const plain = await connect(c, 'u1');
      const recv = await connect(c, 'u1');
      const log: string[] = [];
      recv.client.receiver = receiver(log);
      const message = {
        plain: new OutgoingFrame('{"event":"m"}'),
        forReceivers: forReceivers('m'),
      };
      expect(c.delivery.message(plain.client, message)).toBe(true);
      expect(c.delivery.message(recv.client, message)).toBe(true);
      expect(c.delivery.message(plain.client, { plain: undefined, forReceivers: undefined })).toBe(
        false,
      );
      expect(
        c.delivery.message(recv.client, { plain: message.plain, forReceivers: undefined }),
      ).toBe(false);
      expect(await plain.pair.frames(1)).toEqual(['{"event":"m"}']);
      expect(log).toEqual([`${recv.client.id} m`]);
      await sleep(20);
      expect(recv.pair.received).toEqual([]);
    });

    it('reaches every connection of a user here and counts them', async () => {
      const c = setup();
      const a = await connect(c, 'u1');
      const b = await connect(c, 'u1');
      const r = await connect(c, 'u1');
      const other = await connect(c, 'u2');
      const log: string[] = [];
      r.client.receiver = receiver(log);
      const frame = new OutgoingFrame('{"event":"u"}');
      expect(c.delivery.toUser('u1', { plain: frame, forReceivers: forReceivers('u') })).toBe(3);
      // a receiver counts even when it gets its share later (through the cluster)
      expect(c.delivery.toUser('u1', { plain: undefined, forReceivers: undefined })).toBe(1);
      expect(c.delivery.toUser('nobody', { plain: frame, forReceivers: undefined })).toBe(0);
      expect(await a.pair.frames(1)).toEqual(['{"event":"u"}']);
      expect(await b.pair.frames(1)).toEqual(['{"event":"u"}']);
      expect(log).toEqual([`${r.client.id} u`]);
      await sleep(20);
      expect(other.pair.received).toEqual([]);
    });
  });

  describe('broadcast', () => {
    it('writes one frame to every client except those named, and counts them', async () => {
      const c = setup();
      const peers = await Promise.all([connect(c), connect(c), connect(c)]);
      const [a, b, x] = peers;
      const frame = new OutgoingFrame('{"event":"all"}');
      const n = c.delivery.broadcast({ plain: frame, forReceivers: undefined }, undefined, [
        x.client.id,
      ]);
      expect(n).toBe(2);
      expect(c.counters.delivered).toBe(2);
      expect(await a.pair.frames(1)).toEqual(['{"event":"all"}']);
      expect(await b.pair.frames(1)).toEqual(['{"event":"all"}']);
      await sleep(20);
      expect(x.pair.received).toEqual([]);
    });

    it('hands receivers the message, those named in except too (not counted)', async () => {
      const c = setup();
      const plain = await connect(c);
      const r1 = await connect(c);
      const r2 = await connect(c);
      const log: string[] = [];
      r1.client.receiver = receiver(log);
      r2.client.receiver = receiver(log);
      const message = { plain: new OutgoingFrame('p'), forReceivers: forReceivers('b') };
      expect(c.delivery.broadcast(message, undefined, [r2.client.id])).toBe(2);
      expect(log.sort()).toEqual([`${r1.client.id} b`, `${r2.client.id} b`].sort());
      // in rooms alike
      c.rooms.add(plain.client, 'r');
      c.rooms.add(r1.client, 'r');
      c.rooms.add(r2.client, 'r');
      log.length = 0;
      expect(c.delivery.broadcast(message, ['r'], [r2.client.id])).toBe(2);
      expect(log.sort()).toEqual([`${r1.client.id} b`, `${r2.client.id} b`].sort());
      expect(await plain.pair.frames(2)).toEqual(['p', 'p']);
      await sleep(20);
      expect(r1.pair.received).toEqual([]);
    });

    it('to rooms: the union of their members, each client once', async () => {
      const c = setup();
      const [a, b, both, none] = await Promise.all([
        connect(c),
        connect(c),
        connect(c),
        connect(c),
      ]);
      c.rooms.add(a.client, 'r1');
      c.rooms.add(both.client, 'r1');
      c.rooms.add(both.client, 'r2');
      c.rooms.add(b.client, 'r2');
      const frame = new OutgoingFrame('{"event":"rooms"}');
      const n = c.delivery.broadcast(
        { plain: frame, forReceivers: undefined },
        ['r1', 'r2', 'empty'],
        [a.client.id],
      );
      expect(n).toBe(2);
      await b.pair.frames(1);
      await both.pair.frames(1);
      await sleep(20);
      expect(both.pair.received).toEqual(['{"event":"rooms"}']);
      expect(b.pair.received).toEqual(['{"event":"rooms"}']);
      expect(a.pair.received).toEqual([]);
      expect(none.pair.received).toEqual([]);
    });

    it('closing slow clients in the middle of the loop serves every other client once', async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'close' });
      const peers: Peer[] = [];
      for (let i = 0; i < 6; i++) peers.push(await connect(c));
      const slow = [peers[1], peers[4]];
      for (const s of slow) {
        stall(s);
        c.delivery.text(s.client, 'x'.repeat(2000));
      }
      const frame = new OutgoingFrame('{"event":"b"}');
      const n = c.delivery.broadcast(
        { plain: frame, forReceivers: undefined },
        undefined,
        undefined,
      );
      expect(n).toBe(4);
      expect(slow.every((s) => s.client.removed)).toBe(true);
      expect(c.registry.size).toBe(4);
      const fast = peers.filter((p) => !slow.includes(p));
      for (const p of fast) expect(await p.pair.frames(1)).toEqual(['{"event":"b"}']);
      await sleep(20);
      for (const p of fast) expect(p.pair.received).toHaveLength(1);
      expect(c.counters.slowClosed).toBe(2);
    });

    it("slowConsumer 'drop' in a broadcast skips only the slow client", async () => {
      const c = setup({ maxBufferedBytes: 1024, slowConsumer: 'drop' });
      const fast = await connect(c);
      const slow = await connect(c);
      stall(slow);
      c.delivery.text(slow.client, 'x'.repeat(2000));
      const frame = new OutgoingFrame('{"event":"b"}');
      expect(
        c.delivery.broadcast({ plain: frame, forReceivers: undefined }, undefined, undefined),
      ).toBe(1);
      expect(slow.client.droppedMessages).toBe(1);
      expect(slow.client.removed).toBe(false);
      expect(await fast.pair.frames(1)).toEqual(['{"event":"b"}']);
    });

    it('reports the fan-out time when asked', async () => {
      const c = setup();
      await connect(c);
      const times: number[] = [];
      const frame = new OutgoingFrame('{}');
      c.delivery.broadcast({ plain: frame, forReceivers: undefined }, undefined, undefined);
      c.delivery.onBroadcastTimed = (ms) => times.push(ms);
      c.delivery.broadcast({ plain: frame, forReceivers: undefined }, undefined, undefined);
      expect(times).toHaveLength(1);
      expect(times[0]).toBeGreaterThanOrEqual(0);
    });

    it('coalesceWrites: a second frame in one operation corks the socket until it ends', async () => {
      const c = setup({ coalesceWrites: true });
      const p = await connect(c);
      const tcp = tcpOf(p.client.socket)!;
      const msg = (t: string) => ({ plain: new OutgoingFrame(t), forReceivers: undefined });
      c.delivery.broadcast(msg('1'), undefined, undefined);
      expect(tcp.writableCorked).toBe(0); // a single frame pays nothing
      c.delivery.broadcast(msg('2'), undefined, undefined);
      c.delivery.broadcast(msg('3'), undefined, undefined);
      expect(tcp.writableCorked).toBe(1); // corked once
      await new Promise((r) => process.nextTick(r));
      expect(tcp.writableCorked).toBe(0);
      expect(await p.pair.frames(3)).toEqual(['1', '2', '3']);
    });

    it('without coalesceWrites nothing is corked', async () => {
      const c = setup({ coalesceWrites: false });
      const p = await connect(c);
      const tcp = tcpOf(p.client.socket)!;
      const msg = { plain: new OutgoingFrame('x'), forReceivers: undefined };
      c.delivery.broadcast(msg, undefined, undefined);
      c.delivery.broadcast(msg, undefined, undefined);
      expect(tcp.writableCorked).toBe(0);
      expect(await p.pair.frames(2)).toEqual(['x', 'x']);
    });
  });

  describe('replay', () => {
    it('writes a replay larger than the buffer limit and waits until it is read', async () => {
      const c = setup({ maxBufferedBytes: 1024 });
      const p = await connect(c);
      const texts = Array.from({ length: 64 }, (_, i) => `${i}:`.padEnd(64 * 1024, 'r'));
      expect(await c.delivery.replay(p.client, texts, 5000)).toBe(true);
      expect(p.client.socket.bufferedAmount).toBeLessThanOrEqual(1024);
      const got = await p.pair.frames(64);
      expect(got.map((t) => t.slice(0, t.indexOf(':')))).toEqual(texts.map((_, i) => `${i}`));
      expect(p.client.removed).toBe(false);
      expect(c.counters.delivered).toBe(64);
    });

    it('closes a client that does not read its replay in time (1013)', async () => {
      const c = setup({ maxBufferedBytes: 1024 });
      const p = await connect(c);
      (p.pair.client as unknown as { _socket: { pause(): void } })._socket.pause();
      const texts = Array.from({ length: 32 }, () => 'r'.repeat(1024 * 1024));
      const start = performance.now();
      expect(await c.delivery.replay(p.client, texts, 200)).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(190);
      expect(p.client.removed).toBe(true);
      expect(left).toEqual([
        expect.objectContaining({ code: 1013, reason: DisconnectReason.SLOW_CONSUMER }),
      ]);
    });

    it('writes nothing to a removed client', async () => {
      const c = setup();
      const p = await connect(c);
      c.closer.close(p.client, 1000, '', 'x');
      expect(await c.delivery.replay(p.client, ['a'], 100)).toBe(false);
      expect(c.counters.delivered).toBe(0);
    });
  });
});
