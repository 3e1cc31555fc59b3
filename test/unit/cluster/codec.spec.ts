import { describe, expect, it } from 'vitest';
import { encodeFrame, type HubAdapterMessage } from '../../../src/ws-hub/index.js';
import {
  decodeMessage,
  encodeHeader,
  encodeMessage,
  originPrefix,
  positionedText,
  splitPositioned,
} from '../../../src/ws-hub/cluster/codec.js';
import { positionedFrame } from '../../../src/ws-hub/protocol/streams.js';

describe('redis codec', () => {
  it('carries the frame text untouched after a one-line header', () => {
    const frame = encodeFrame('chat', { text: 'line1\nline2 — ünïcödé 🚀', nested: { a: [1, 2] } });
    const messages: HubAdapterMessage[] = [
      { type: 'broadcast', frame },
      { type: 'broadcast', frame, rooms: ['a\nb', 'c'], except: ['x.1'] },
      { type: 'send', clientId: 'inst.abc', frame },
      { type: 'user', userId: 'u\n1', frame },
      { type: 'disconnect', clientId: 'inst.abc', code: 4001, reason: 'bye\nnow' },
      { type: 'disconnect-user', userId: 'alice', code: 1000, reason: '' },
      { type: 'revoke-user', userId: 'al\nice', reason: 'logged out' },
    ];
    for (const [i, m] of messages.entries()) {
      const wire = encodeMessage('origin-1', i + 1, m);
      expect(wire.startsWith(originPrefix('origin-1'))).toBe(true);
      if ('frame' in m) expect(wire.endsWith('\n' + frame)).toBe(true);
      const decoded = decodeMessage(wire)!;
      expect(decoded.origin).toBe('origin-1');
      expect(decoded.seq).toBe(i + 1);
      expect(JSON.parse(JSON.stringify(decoded.message))).toEqual(JSON.parse(JSON.stringify(m)));
    }
  });

  it('keeps the documented wire format', () => {
    expect(
      encodeMessage('i1', 7, { type: 'broadcast', frame: 'F', rooms: ['r'], except: [] }),
    ).toBe('{"o":"i1","s":7,"t":"b","r":["r"]}\nF');
    expect(encodeMessage('i1', 8, { type: 'send', clientId: 'i2.x', frame: 'F' })).toBe(
      '{"o":"i1","s":8,"t":"s","c":"i2.x"}\nF',
    );
    expect(
      encodeMessage('i1', 9, { type: 'disconnect-user', userId: 'u', code: 4000, reason: 'r' }),
    ).toBe('{"o":"i1","s":9,"t":"D","u":"u","k":4000,"m":"r"}');
    expect(encodeMessage('i1', 10, { type: 'revoke-user', userId: 'u', reason: 'revoked' })).toBe(
      '{"o":"i1","s":10,"t":"R","u":"u","m":"revoked"}',
    );
    expect(decodeMessage('{"o":"i1","s":11,"t":"R"}')).toBeUndefined();
  });

  it("tells an origin's own messages by prefix, not by another origin sharing its start", () => {
    const wire = encodeMessage('abc', 1, { type: 'broadcast', frame: 'F' });
    expect(wire.startsWith(originPrefix('abc'))).toBe(true);
    expect(wire.startsWith(originPrefix('ab'))).toBe(false);
    expect(encodeMessage('a"b', 1, { type: 'broadcast', frame: 'F' })).toMatch(/^\{"o":"a\\"b",/);
  });

  it.each([
    ['not json\n{}'],
    ['{"o":"x","s":1,"t":"?"}\nF'],
    ['{"o":"x","s":1,"t":"?"}'],
    ['null'],
    ['{"s":1,"t":"b"}\nF'], // no origin
    ['{"o":"x","s":"1","t":"b"}\nF'], // sequence not a number
    ['{"o":"x","s":1,"t":"b"}'], // broadcast without a frame
    ['{"o":"x","s":1,"t":"b","r":"room"}\nF'], // rooms not a list
    ['{"o":"x","s":1,"t":"b","x":[1]}\nF'], // except not strings
    ['{"o":"x","s":1,"t":"s"}\nF'], // send without client id
    ['{"o":"x","s":1,"t":"u","u":"a"}'], // user without a frame
    ['{"o":"x","s":1,"t":"d","c":"i.x"}'], // disconnect without a code
    ['{"o":"x","s":1,"t":"D","u":"a","k":"1000"}'],
  ])('rejects %s', (payload) => {
    expect(decodeMessage(payload)).toBeUndefined();
  });

  it('reads a missing close reason as empty', () => {
    expect(decodeMessage('{"o":"x","s":1,"t":"d","c":"i.x","k":1000}')?.message).toEqual({
      type: 'disconnect',
      clientId: 'i.x',
      code: 1000,
      reason: '',
    });
  });

  describe('positioned messages (recovery)', () => {
    const frame = encodeFrame('chat', { text: 'a,"pos":{"x":[1,"y"]}} — ü 🚀' });
    const positions = { 'room:a': [7, 'EpochAAA'], 'room:"b"': [3, 'EpochBBB'] } as Record<
      string,
      [number, string]
    >;

    it('carries where the positions start, so receivers get the plain frame back untouched', () => {
      const message: HubAdapterMessage = { type: 'broadcast', frame, rooms: ['a', '"b"'] };
      const header = encodeHeader('i1', 5, message, true);
      expect(JSON.parse(header)).toEqual({
        o: 'i1',
        s: 5,
        t: 'b',
        r: ['a', '"b"'],
        p: frame.length - 1,
      });
      // What the publish script builds: the header, a newline, the positioned frame.
      const text = positionedText(frame, JSON.stringify(positions));
      expect(text).toBe(positionedFrame(frame, positions));
      const decoded = decodeMessage(header + '\n' + text)!;
      expect(decoded.message).toEqual({
        type: 'broadcast',
        frame,
        rooms: ['a', '"b"'],
        except: undefined,
        positioned: { text, positions },
      });
    });

    it('works for send and user messages too', () => {
      for (const message of [
        { type: 'send', clientId: 'i1.x', frame },
        { type: 'user', userId: 'u', frame },
      ] as const) {
        const text = positionedText(frame, '{"client:i1.x":[1,"E"]}');
        const decoded = decodeMessage(encodeHeader('i1', 1, message, true) + '\n' + text)!;
        expect(decoded.message).toMatchObject({ ...message, positioned: { text } });
      }
    });

    it('rejects a positioned message whose mark is not where the header says', () => {
      const header = encodeHeader('i1', 1, { type: 'broadcast', frame }, true);
      const text = positionedText(frame, '{"all":[1,"E"]}');
      expect(decodeMessage(header + '\n' + text.slice(1))).toBeUndefined();
      expect(decodeMessage(header + '\n' + frame)).toBeUndefined();
      expect(splitPositioned(text, -1)).toBeUndefined();
      expect(splitPositioned(text.slice(0, -2) + '}', frame.length - 1)).toBeUndefined();
      expect(splitPositioned('{"a":1,"pos":[1]}', 6)).toBeUndefined();
    });

    it('a Redis Cluster copy carries "mid" before "pos": plain clients never see it', () => {
      const header = encodeHeader('i1', 9, { type: 'broadcast', frame, rooms: ['a', 'b'] }, true);
      // What the publish script builds for a copy: the mid, then this copy's position only.
      const text = frame.slice(0, -1) + ',"mid":"Ab-_9:9","pos":{"room:a":[7,"E"]}}';
      const decoded = decodeMessage(header + '\n' + text)!;
      expect(decoded.message).toEqual({
        type: 'broadcast',
        frame,
        rooms: ['a', 'b'],
        except: undefined,
        positioned: { text, positions: { 'room:a': [7, 'E'] }, mid: 'Ab-_9:9' },
      });
      expect(JSON.parse(text)).toMatchObject({ mid: 'Ab-_9:9', pos: { 'room:a': [7, 'E'] } });
      expect(
        splitPositioned(frame.slice(0, -1) + ',"mid":1,"pos":{}}', frame.length - 1),
      ).toBeUndefined();
      expect(splitPositioned(frame.slice(0, -1) + ',"mid":"x"}', frame.length - 1)).toBeUndefined();
    });
  });
});
