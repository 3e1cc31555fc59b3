import { afterEach, describe, expect, it } from 'vitest';
import type { HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor, type Frame } from '../helpers/client.js';
import { PROTOCOLS } from '../helpers/recovering-client.js';
import { range, RecoveringHubs } from '../helpers/recovering-hubs.js';

/**
 * Adversarial probes (issue 17 review) of recovery on one instance: hostile `recover` frames,
 * the replay budget's edges (messages; bytes, counted as UTF-8 as the README says), an app
 * event named like a protocol frame (`skip`), and join / leave / join of one room while a slow
 * `authorizeJoin` is pending.
 */

const { hub, client, drop, close } = new RecoveringHubs();
const plain: TestClient[] = [];

afterEach(async () => {
  for (const c of plain.splice(0)) c.terminate();
  await close();
});

/** A raw recovering connection that sends `recover` as the given text; resolves its answer. */
async function rawRecover(app: HubApp, text: string, user = 'x'): Promise<TestClient> {
  const c = await TestClient.connect(`${app.url}?token=${user}`, { protocols: PROTOCOLS });
  plain.push(c);
  c.send(text);
  return c;
}

describe('attack: hostile recover frames', () => {
  it('never crash the hub, never reach other clients, and each gets a fresh session or an error', async () => {
    const app = await hub();
    const bystander = await client(app.url, 'bob', ['lobby']);
    const owner = await client(app.url, 'ann', ['lobby']);
    const credential = owner.session!;
    const id = owner.clientId;
    const epoch = owner.positions.get('all')!.epoch;
    const rec = (data: unknown) => JSON.stringify({ event: 'recover', id: 'r', data });
    const many = (n: number) =>
      Object.fromEntries(range(1, n).map((i) => [`room:${i}`, { epoch: 'e', offset: 1 }]));
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const hostile: [string, string][] = [
      ['__proto__ stream', rec({ streams: JSON.parse('{"__proto__":{"epoch":"e","offset":1}}') })],
      [
        '__proto__ json',
        '{"event":"recover","id":"r","data":{"__proto__":{"session":"' +
          credential +
          '"},"streams":{"__proto__":{"epoch":"e","offset":1},"room:__proto__":{"epoch":"e","offset":1},"room:constructor":{"epoch":"e","offset":0}}}}',
      ],
      ['1001 streams', rec({ streams: many(1001) })],
      ['2000 streams', rec({ streams: many(2000) })],
      [
        'deep nesting',
        `{"event":"recover","id":"r","data":{"streams":{"all":{"epoch":${deep},"offset":1}}}}`,
      ],
      ['epoch number', rec({ streams: { all: { epoch: 5, offset: 1 } } })],
      ['epoch object', rec({ streams: { all: { epoch: { toString: 1 }, offset: 1 } } })],
      ['offset negative', rec({ streams: { all: { epoch, offset: -1 } } })],
      ['offset float', rec({ streams: { all: { epoch, offset: 1.5 } } })],
      ['offset huge', rec({ streams: { all: { epoch, offset: 1e300 } } })],
      ['offset string', rec({ streams: { all: { epoch, offset: '1' } } })],
      ['offset max safe', rec({ streams: { all: { epoch, offset: Number.MAX_SAFE_INTEGER } } })],
      ['data array', rec([1, 2])],
      ['data string', rec('x')],
      ['session number', rec({ session: 5 })],
      ['session tilde', rec({ session: '~' })],
      ['session braces', rec({ session: '{a}~b' })],
      ['session __proto__', rec({ session: '__proto__~b' })],
      ['session other id', rec({ session: `${id}~AAAAAAAAAAAAAAAAAAAAAAAA` })],
      ['session long', rec({ session: 'a'.repeat(299) + '~b' })],
      ['streams null entries', rec({ streams: { all: null, 'room:x': [] } })],
      ['empty stream name', rec({ streams: { '': { epoch: 'e', offset: 0 } } })],
    ];
    const answers: Record<string, string> = {};
    for (const [name, text] of hostile) {
      const c = await rawRecover(app, text);
      const reply = await Promise.race([
        c.next((f) => f.event === 'welcome' || f.event === 'error', 3_000),
        c.closed(3_000).then(() => undefined),
      ]).catch(() => undefined);
      const closed = c.closeCode;
      if (reply?.event === 'welcome') {
        const recovery = reply.data.recovery as { recovered: boolean };
        expect(recovery.recovered, name).toBe(false);
        expect(reply.data.clientId, name).not.toBe(id);
        answers[name] = 'welcome recovered:false';
      } else if (reply) {
        answers[name] = `error ${(reply.data as { code: string }).code}`;
      } else {
        answers[name] = `closed ${closed}`;
        expect([1008, 1009], name).toContain(closed);
      }
      c.terminate();
    }
    if (process.env.SHOW_FIGURES) console.log('[figures] hostile recover frames:', answers);
    // The hub is fine, the others noticed nothing, and the owner's session is intact.
    app.hub.broadcast('n', 1, { rooms: 'lobby' });
    await waitFor(() => bystander.got('n').length === 1 && owner.got('n').length === 1);
    expect(bystander.serverCloses()).toEqual([]);
    await drop(owner, app);
    const w = await owner.connect(app.url);
    expect(w.data.clientId).toBe(id);
    expect(w.data.recovery.recovered, JSON.stringify(answers)).toBe(true);
    expect(app.hub.rooms().sort()).toEqual(['lobby']);
  });

  it('a second recover frame after the welcome is refused and changes nothing', async () => {
    const app = await hub();
    const r = await client(app.url, 'ann', ['lobby']);
    const reply = await r.c.request({
      event: 'recover',
      id: 'again',
      data: { session: r.session, streams: {} },
    });
    expect(reply.event).toBe('error');
    expect(app.hub.roomsOf(r.clientId)).toEqual(['lobby']);
  });
});

describe('attack: replay budget edges', () => {
  for (const [missed, recovered] of [
    [10, true],
    [11, false],
  ] as const) {
    it(`maxReplayMessages 10, ${missed} missed: recovered ${recovered}`, async () => {
      const app = await hub({ recovery: { maxReplayMessages: 10 } });
      const r = await client(app.url, 'a');
      await drop(r, app);
      for (const i of range(1, missed)) app.hub.broadcast('n', i);
      const w = await r.connect(app.url);
      expect(w.data.recovery.recovered).toBe(recovered);
      if (recovered) {
        await waitFor(() => r.got('n').length === missed);
        expect(r.got('n')).toEqual(range(1, missed));
      } else {
        await sleep(100);
        expect(r.got('n')).toEqual([]);
      }
    });
  }

  it('maxReplayBytes counts bytes: multi-byte frames past the budget are not replayed as recovered', async () => {
    const maxReplayBytes = 2_000;
    const app = await hub({ recovery: { maxReplayBytes } });
    const r = await client(app.url, 'a');
    await drop(r, app);
    // 10 messages of 100 '€' (3 bytes each in UTF-8): about 1 400 characters, 3 400 bytes.
    for (const i of range(1, 10)) app.hub.broadcast('n', `${i}:${'€'.repeat(100)}`);
    const w = await r.connect(app.url);
    await sleep(200);
    const conn = r.conn;
    const replayed = r.delivered.filter((d) => d.conn === conn).length;
    const bytes = r.bytes[conn];
    expect(
      w.data.recovery.recovered,
      `recovered with ${replayed} messages replayed, ${bytes} bytes received over a budget of ${maxReplayBytes}`,
    ).toBe(false);
  });
});

describe('attack: app events named like protocol frames', () => {
  it("a broadcast named 'skip' is refused, or reaches a client that follows the protocol", async () => {
    const app = await hub();
    const r = await client(app.url, 'a');
    let threw = false;
    try {
      app.hub.broadcast('skip', { important: true });
    } catch {
      threw = true;
    }
    app.hub.broadcast('n', 1);
    await waitFor(() => r.got('n').length === 1);
    if (!threw) {
      // The wire frame is `{"event":"skip","data":...,"pos":...}`: the README's skip frame
      // `{"event":"skip","pos":...}` plus data; a client following the protocol steps over it.
      expect(r.got('skip'), r.describe()).toEqual([{ important: true }]);
    }
  });
});

describe('attack: join, leave, join of one room while authorizeJoin is slow', () => {
  it('answered in order; a member at the end; its messages continue the last join; restored on resume', async () => {
    const gates: (() => void)[] = [];
    let slow = true;
    const h = await hub({
      authorizeJoin: async ({ room }) => {
        if (room === 'slow' && slow) await new Promise<void>((resolve) => gates.push(resolve));
        return true;
      },
    });
    const r = await client(h.url, 'ann');
    const c = r.c;
    const from = c.frames.length;
    c.send({ event: 'join', id: 'j1', data: { room: 'slow' } });
    c.send({ event: 'leave', id: 'l1', data: { room: 'slow' } });
    c.send({ event: 'join', id: 'j2', data: { room: 'slow' } });
    await waitFor(() => gates.length === 1);
    h.hub.broadcast('s', 1, { rooms: 'slow' }); // nobody in it yet
    gates.shift()!();
    await waitFor(() => gates.length === 1);
    h.hub.broadcast('s', 2, { rooms: 'slow' }); // between the leave and the second join
    gates.shift()!();
    const j2 = await c.next((f) => f.id === 'j2', 3_000, from);
    const replies = c.frames
      .slice(from)
      .filter((f: Frame) => f.id === 'j1' || f.id === 'l1' || f.id === 'j2')
      .map((f: Frame) => f.event);
    expect(replies).toEqual(['joined', 'left', 'joined']);
    expect(h.hub.roomsOf(r.clientId)).toEqual(['slow']);
    const [start, epoch] = j2.data.pos as [number, string];
    h.hub.broadcast('s', 3, { rooms: 'slow' });
    const f3 = await c.next((f) => f.event === 's' && f.data === 3, 3_000, from);
    expect((f3 as Frame & { pos: Record<string, [number, string]> }).pos['room:slow']).toEqual([
      start + 1,
      epoch,
    ]);
    // Its session recorded the room (the client presents it): restored, recovered.
    r.positions.set('room:slow', { epoch, offset: start + 1 });
    slow = false;
    await drop(r, h);
    h.hub.broadcast('s', 4, { rooms: 'slow' });
    const w = await r.connect(h.url);
    expect(w.data.recovery.recovered).toBe(true);
    expect(h.hub.roomsOf(r.clientId)).toEqual(['slow']);
    await waitFor(() => r.got('s').includes(4));
  });
});

describe('attack: a member presenting offset 0 for a room it joined late', () => {
  it('is not given the messages the room had before it joined', async () => {
    const app = await hub();
    const early = await client(app.url, 'early', ['secret']);
    for (const i of range(1, 5)) app.hub.broadcast('s', `before-${i}`, { rooms: 'secret' });
    await waitFor(() => early.got('s').length === 5);
    const late = await client(app.url, 'late', ['secret']);
    const joinedAt = late.positions.get('room:secret')!;
    expect(joinedAt.offset).toBe(5);
    app.hub.broadcast('s', 'after-1', { rooms: 'secret' });
    await waitFor(() => late.got('s').length === 1);
    await drop(late, app);
    // "Offset 0 is nothing yet in any epoch": the client claims it never had anything.
    late.positions.set('room:secret', { epoch: 'anything', offset: 0 });
    const w = await late.connect(app.url);
    await sleep(200);
    const conn = late.conn;
    const replayed = late.delivered.filter((d) => d.conn === conn).map((d) => d.data);
    expect(
      replayed.filter((d) => String(d).startsWith('before-')),
      `welcome recovered=${w.data.recovery.recovered}; replayed ${JSON.stringify(replayed)}`,
    ).toEqual([]);
  });
});

describe('attack: historySize, the exact edge (one instance)', () => {
  for (const [missed, recovered] of [
    [5, true],
    [6, false],
  ] as const) {
    it(`historySize 5, ${missed} missed: recovered ${recovered}`, async () => {
      const app = await hub({ recovery: { historySize: 5 } });
      const r = await client(app.url, 'h', ['r']);
      app.hub.broadcast('n', 0, { rooms: 'r' });
      await waitFor(() => r.got('n').length === 1);
      await drop(r, app);
      for (const i of range(1, missed)) app.hub.broadcast('n', i, { rooms: 'r' });
      const w = await r.connect(app.url);
      expect(w.data.recovery.streams['room:r'].recovered).toBe(recovered);
      expect(w.data.recovery.recovered).toBe(recovered);
      if (recovered) {
        await waitFor(() => r.got('n').length === 1 + missed);
        expect(r.got('n')).toEqual(range(0, missed));
      }
    });
  }
});

describe('attack: a huge stream map (the app raised maxPayloadBytes)', () => {
  it('100 000 streams in one recover frame: a fresh session, others unaffected, no dearer than any frame that size', async () => {
    const app = await hub({ maxPayloadBytes: 8 * 1024 * 1024 });
    const bystander = await client(app.url, 'bob');
    const streams: Record<string, { epoch: string; offset: number }> = {};
    for (let i = 0; i < 100_000; i++) streams[`room:r${i}`] = { epoch: 'e', offset: 1 };
    const data = { streams };
    // The longest event-loop stall while the frame is handled.
    const stall = async (run: () => Promise<unknown>): Promise<number> => {
      let last = performance.now();
      let worst = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 5);
      try {
        await run();
      } finally {
        clearInterval(timer);
      }
      return worst;
    };
    // Baseline: the same bytes under an event nobody handles (parse, then UNKNOWN_EVENT).
    const base = await stall(async () => {
      const c = await rawRecover(app, JSON.stringify({ event: 'recover', id: 'r', data: {} }));
      await c.next((f) => f.event === 'welcome');
      c.send(JSON.stringify({ event: 'nobody', id: 'n', data }));
      await c.next((f) => f.id === 'n', 10_000);
    });
    let w: Frame | undefined;
    const worst = await stall(async () => {
      const c = await rawRecover(app, JSON.stringify({ event: 'recover', id: 'r', data }));
      w = await c.next((f) => f.event === 'welcome', 10_000);
    });
    expect(w!.data.recovery.recovered).toBe(false);
    expect(app.hub.roomsOf(w!.data.clientId)).toEqual([]);
    app.hub.broadcast('n', 1);
    await waitFor(() => bystander.got('n').length === 1);
    expect(
      worst,
      `worst stall ${Math.round(worst)} ms (the same frame unhandled: ${Math.round(base)} ms)`,
    ).toBeLessThan(base * 3 + 200);
    if (process.env.SHOW_FIGURES) {
      console.log(
        `[figures] 100k-stream recover: stall ${Math.round(worst)} ms, base ${Math.round(base)} ms`,
      );
    }
  });
});
