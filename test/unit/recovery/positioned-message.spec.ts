import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { positionedFrame, type Positions } from '../../../src/ws-hub/protocol/streams.js';
import { PositionedMessage } from '../../../src/ws-hub/recovery/positioned-message.js';

const plain = '{"event":"e","data":1}';
function client(id: string, rooms: string[]): Connection {
  const c = new Connection(id, {} as never, 0, undefined, undefined);
  c.rooms = new Set(rooms);
  return c;
}
const parse = (m: PositionedMessage, c: Connection) => {
  const f = m.frameFor(c);
  return f === undefined ? undefined : (JSON.parse(f.text) as Record<string, unknown>);
};

describe('PositionedMessage', () => {
  const both: Positions = { 'room:a': [3, 'E'], 'room:b': [8, 'F'] };

  it("gives each recipient only its own streams' positions, nothing to one in none", () => {
    const m = new PositionedMessage(plain, both, positionedFrame(plain, both));
    expect(parse(m, client('i.1', ['a']))).toEqual({
      event: 'e',
      data: 1,
      pos: { 'room:a': [3, 'E'] },
    });
    expect(parse(m, client('i.2', ['a', 'b']))).toEqual({ event: 'e', data: 1, pos: both });
    expect(m.frameFor(client('i.3', ['c']))).toBeUndefined();
  });

  it('gives a client named in except a skip frame with its positions, never the data', () => {
    const m = new PositionedMessage(plain, both, undefined, ['i.1']);
    expect(parse(m, client('i.1', ['b']))).toEqual({ event: 'skip', pos: { 'room:b': [8, 'F'] } });
    expect(parse(m, client('i.2', ['b']))).toEqual({
      event: 'e',
      data: 1,
      pos: { 'room:b': [8, 'F'] },
    });
  });

  it('copies of one message sharing a ledger: the first reaches a client, the others skip', () => {
    const ledger = new Map<string, Positions | null>();
    const a: Positions = { 'room:a': [3, 'E'] };
    const b: Positions = { 'room:b': [8, 'F'] };
    const copyA = new PositionedMessage(plain, a, undefined, undefined, ledger);
    const copyB = new PositionedMessage(plain, b, undefined, undefined, ledger);
    const inBoth = client('i.1', ['a', 'b']);
    const onlyB = client('i.2', ['b']);
    expect(parse(copyA, inBoth)).toEqual({ event: 'e', data: 1, pos: a });
    expect(parse(copyA, onlyB)).toBeUndefined();
    expect(parse(copyB, inBoth)).toEqual({ event: 'skip', pos: b });
    expect(parse(copyB, onlyB)).toEqual({ event: 'e', data: 1, pos: b });
    // Each with the positions of the copy it got (a resume honours it only if it covers them).
    expect(ledger).toEqual(
      new Map([
        ['i.1', a],
        ['i.2', b],
      ]),
    );
  });
});
