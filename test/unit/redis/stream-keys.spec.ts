import { describe, expect, it } from 'vitest';
import { positionedText } from '../../../src/ws-hub/cluster/codec.js';
import { ChannelNames } from '../../../src/ws-hub/redis/channels.js';
import {
  appendArgs,
  randomEpochs,
  type EpochSource,
  parseEntry,
  parseRead,
  readArgs,
  StreamKeys,
  userField,
} from '../../../src/ws-hub/redis/stream-keys.js';

/** What Redis Cluster hashes of a key or channel name (the hash tag rule of the cluster spec). */
function hashed(name: string): string {
  const open = name.indexOf('{');
  if (open < 0) return name;
  const close = name.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return name;
  return name.slice(open + 1, close);
}

const keys = new StreamKeys(new ChannelNames('hub', true));

describe('StreamKeys', () => {
  it('names the keys of a stream after its channel', () => {
    expect(keys.channel('room:lobby')).toBe('{hub:room:lobby}');
    expect(keys.meta('room:lobby')).toBe('{hub:room:lobby}:m');
    expect(keys.history('room:lobby')).toBe('{hub:room:lobby}:h');
    expect(keys.session('i1.abc')).toBe('{hub:client:i1.abc}:s');
  });

  it.each(['all', 'room:lobby', 'room:a}b', 'room:{x}', 'room:{}', 'user:{u', 'client:i1.x'])(
    'puts the keys and the channel of %s in one Redis Cluster slot',
    (stream) => {
      const tag = hashed(keys.channel(stream));
      expect(hashed(keys.meta(stream))).toBe(tag);
      expect(hashed(keys.history(stream))).toBe(tag);
    },
  );

  it("puts a session in its client stream's slot", () => {
    expect(hashed(keys.session('i1.x'))).toBe(hashed(keys.channel('client:i1.x')));
  });
});

describe('randomEpochs', () => {
  it('gives distinct 8-character url-safe epochs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(randomEpochs.next());
    expect(seen.size).toBe(500);
    for (const e of seen) expect(e).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });
});

describe('script arguments', () => {
  const limits = { historySize: '300', historyTtlMs: '60000', metaTtlMs: '86400000' };

  it('lays out APPEND_PUBLISH: keys per stream, then the message, then per stream name, epoch, channel, floor', () => {
    const epochs = { next: () => 'EEEEEEEE' } as EpochSource;
    const plain = '{"event":"x"}';
    const args = appendArgs(
      keys,
      epochs,
      limits,
      'HDR',
      plain,
      ['room:a', 'room:"b"'],
      ['i.1'],
      undefined,
      { 'room:"b"': [7, 'F'] },
    );
    expect(args).toEqual([
      '4',
      '{hub:room:a}:m',
      '{hub:room:a}:h',
      '{hub:room:"b"}:m',
      '{hub:room:"b"}:h',
      'HDR',
      plain,
      '300',
      '60000',
      '86400000',
      '["i.1"]',
      String(plain.length - 1),
      '"room:a"',
      'EEEEEEEE',
      '{hub:room:a}',
      '0',
      '',
      '"room:\\"b\\""',
      'EEEEEEEE',
      '{hub:room:"b"}',
      '7',
      'F',
    ]);
    expect(appendArgs(keys, epochs, limits, 'H', plain, ['all'], [])[8]).toBe('');
  });

  it('reads from the offset after the client’s, in its epoch (any epoch from offset 0)', () => {
    expect(readArgs(undefined, 10)).toEqual(['0', '', '0']);
    expect(readArgs({ epoch: 'E', offset: 0 }, 10)).toEqual(['1', '', '10']);
    expect(readArgs({ epoch: 'E', offset: 41 }, 500)).toEqual(['42', 'E', '500']);
  });

  it('stores the user with a marker, so that no user and an empty user differ', () => {
    expect(userField(undefined)).toBe('-');
    expect(userField('')).toBe('+');
    expect(userField('ann')).toBe('+ann');
  });
});

/** An XRANGE entry as the read script returns it. */
function raw(
  offset: number,
  atMs: number,
  text?: string,
  extra: string[] = [],
): [string, string[]] {
  if (text === undefined) return [`${offset}-0`, ['g', '1', 'a', String(atMs * 1000)]];
  const p = text.indexOf(',"pos":');
  return [`${offset}-0`, ['d', text, 'p', String(p), 'a', String(atMs * 1000), ...extra]];
}

const frame = (n: number, epoch = 'E') =>
  positionedText(`{"event":"m","data":${n}}`, `{"all":[${n},"${epoch}"]}`);
const NOW_MS = 1_700_000_000_000;
const TTL = 60_000;

function reply(epoch: string, top: number, entries: [string, string[]][], nowMs = NOW_MS) {
  return [epoch, String(top), String(nowMs * 1000), entries];
}

describe('parseRead: the semantics of the in-memory history', () => {
  const five = [1, 2, 3, 4, 5].map((n) => raw(n, NOW_MS - 1000 + n, frame(n)));

  it('gives only the top without a position', () => {
    expect(parseRead('all', undefined, reply('E', 5, []), TTL)).toEqual({
      stream: 'all',
      epoch: 'E',
      top: 5,
      entries: [],
      complete: true,
    });
  });

  it('gives exactly what followed the position, with positions and time', () => {
    const h = parseRead('all', { epoch: 'E', offset: 3 }, reply('E', 5, five.slice(3)), TTL);
    expect(h.complete).toBe(true);
    expect(h.entries.map((e) => e.positions)).toEqual([{ all: [4, 'E'] }, { all: [5, 'E'] }]);
    expect(h.entries[0].text).toBe(frame(4));
    expect(h.entries[0].at).toBe(NOW_MS - 1000 + 4);
    expect(h.entries[0].except).toBeUndefined();
  });

  it('is complete with nothing to give at the top, and from offset 0 of a stream that never had one', () => {
    expect(parseRead('all', { epoch: 'E', offset: 5 }, reply('E', 5, []), TTL).complete).toBe(true);
    expect(parseRead('all', { epoch: 'X', offset: 0 }, reply('', 0, []), TTL)).toMatchObject({
      epoch: '',
      top: 0,
      complete: true,
    });
    expect(parseRead('all', { epoch: '', offset: 0 }, reply('E', 5, five), TTL)).toMatchObject({
      complete: true,
    });
  });

  it('is incomplete in another epoch, or past the top', () => {
    expect(parseRead('all', { epoch: 'OLD', offset: 2 }, reply('E', 5, []), TTL).complete).toBe(
      false,
    );
    expect(parseRead('all', { epoch: 'E', offset: 9 }, reply('E', 5, []), TTL).complete).toBe(
      false,
    );
    expect(parseRead('all', { epoch: 'E', offset: 2 }, reply('', 0, []), TTL).complete).toBe(false);
  });

  it('is incomplete when entries after the position were trimmed', () => {
    const h = parseRead('all', { epoch: 'E', offset: 1 }, reply('E', 5, five.slice(2)), TTL);
    expect(h.complete).toBe(false);
    expect(h.entries).toHaveLength(3);
  });

  it('is incomplete when an entry is older than the history TTL (by Redis time)', () => {
    const old = [raw(4, NOW_MS - TTL - 1, frame(4)), raw(5, NOW_MS, frame(5))];
    const h = parseRead('all', { epoch: 'E', offset: 3 }, reply('E', 5, old), TTL);
    expect(h.complete).toBe(false);
    expect(h.entries.map((e) => e.positions.all[0])).toEqual([5]);
  });

  it('is incomplete across a tombstone, which is never replayed', () => {
    const withGap = [raw(4, NOW_MS, frame(4)), raw(5, NOW_MS), raw(6, NOW_MS, frame(6))];
    const h = parseRead('all', { epoch: 'E', offset: 3 }, reply('E', 6, withGap), TTL);
    expect(h.complete).toBe(false);
    expect(h.entries.map((e) => e.positions.all[0])).toEqual([4, 6]);
    // a client already past the tombstone missed nothing
    expect(
      parseRead('all', { epoch: 'E', offset: 5 }, reply('E', 6, withGap.slice(2)), TTL).complete,
    ).toBe(true);
  });

  it("keeps a broadcast's except and every position of a multi-room entry", () => {
    const text = positionedText('{"event":"m"}', '{"room:a":[2,"A"],"room:b":[9,"B"]}');
    const e = parseEntry(raw(2, NOW_MS, text, ['x', '["i.1","i.2"]']))!;
    expect(e.entry).toEqual({
      text,
      positions: { 'room:a': [2, 'A'], 'room:b': [9, 'B'] },
      at: NOW_MS,
      except: ['i.1', 'i.2'],
    });
  });

  it('rejects a reply that is not the script’s', () => {
    expect(() => parseRead('all', undefined, 'OK', TTL)).toThrow(/unexpected/);
  });
});
