import { describe, expect, it } from 'vitest';
import type { HubAdapterMessage } from '../../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import { encodeHeader, encodeMessage, positionedText } from '../../../src/ws-hub/cluster/codec.js';
import { Floors } from '../../../src/ws-hub/cluster/floors.js';
import { Inbox, type OwnCopies } from '../../../src/ws-hub/cluster/inbox.js';
import { SequenceFilter } from '../../../src/ws-hub/cluster/sequence-filter.js';

const frame = '{"event":"m","data":1}';
/** A Redis Cluster copy of a broadcast to rooms a and b: `mid` and one room's position. */
const copy = (origin: string, seq: number, room: 'a' | 'b', offset: number) =>
  encodeHeader(origin, seq, { type: 'broadcast', frame, rooms: ['a', 'b'] }, true) +
  '\n' +
  frame.slice(0, -1) +
  `,"mid":"${origin}:${seq}","pos":{"room:${room}":[${offset},"E"]}}`;
const positioned = (origin: string, seq: number) =>
  encodeHeader(origin, seq, { type: 'broadcast', frame }, true) +
  '\n' +
  positionedText(frame, '{"all":[4,"E"]}');

function setup(recovery: boolean, acceptOwn: (seq: number) => boolean = () => true) {
  const applied: HubAdapterMessage[] = [];
  const counters = { received: 0, duplicates: 0, malformed: 0 };
  const recorder: OwnCopies | undefined = recovery
    ? { acceptOwn, floors: new Floors() }
    : undefined;
  const inbox = new Inbox('me', new SequenceFilter(), recorder, counters, (m) => applied.push(m));
  return { applied, counters, inbox };
}

describe('Inbox', () => {
  it('skips its own messages without recovery, applies the others once', () => {
    const { applied, counters, inbox } = setup(false);
    inbox.receive(encodeMessage('me', 1, { type: 'broadcast', frame }));
    inbox.receive(encodeMessage('other', 1, { type: 'broadcast', frame, rooms: ['a', 'b'] }));
    inbox.receive(encodeMessage('other', 1, { type: 'broadcast', frame, rooms: ['a', 'b'] }));
    inbox.receive('garbage');
    expect(applied).toHaveLength(1);
    expect(counters).toEqual({ received: 1, duplicates: 1, malformed: 1 });
  });

  it('with recovery, applies its own positioned copies as own, and only those', () => {
    const { applied, counters, inbox } = setup(true);
    inbox.receive(
      encodeMessage('me', 1, { type: 'disconnect', clientId: 'x.y', code: 1000, reason: '' }),
    );
    inbox.receive(positioned('me', 2));
    inbox.receive(positioned('me', 2)); // a second room's copy
    inbox.receive(positioned('other', 7));
    expect(applied).toEqual([
      {
        type: 'broadcast',
        frame,
        rooms: undefined,
        except: undefined,
        own: true,
        positioned: {
          text: positionedText(frame, '{"all":[4,"E"]}'),
          positions: { all: [4, 'E'] },
        },
      },
      expect.objectContaining({ frame, positioned: expect.any(Object) }),
    ]);
    expect((applied[1] as { own?: boolean }).own).toBeUndefined();
    expect(counters).toEqual({ received: 1, duplicates: 1, malformed: 0 });
  });

  it('applies every copy of a Redis Cluster message once: the later ones marked again', () => {
    const { applied, counters, inbox } = setup(true);
    inbox.receive(copy('other', 5, 'b', 3));
    inbox.receive(copy('other', 5, 'a', 8));
    inbox.receive(copy('other', 5, 'a', 8)); // still applied: the ledger makes it a skip
    const got = applied as (HubAdapterMessage & { again?: boolean; positioned?: object })[];
    expect(got.map((m) => [m.again ?? false, m.positioned])).toEqual([
      [false, expect.objectContaining({ positions: { 'room:b': [3, 'E'] }, mid: 'other:5' })],
      [true, expect.objectContaining({ positions: { 'room:a': [8, 'E'] }, mid: 'other:5' })],
      [true, expect.objectContaining({ positions: { 'room:a': [8, 'E'] } })],
    ]);
    expect(counters).toEqual({ received: 1, duplicates: 0, malformed: 0 });
    // A plain duplicate (no mid) is still dropped.
    inbox.receive(positioned('other', 5));
    expect(counters.duplicates).toBe(1);
  });

  it('drops an own copy the recorder delivered already', () => {
    const { applied, inbox } = setup(true, (seq) => seq !== 3);
    inbox.receive(positioned('me', 3));
    inbox.receive(positioned('me', 4));
    expect(applied).toHaveLength(1);
  });
});
