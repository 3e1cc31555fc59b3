import { describe, expect, it } from 'vitest';
import {
  MAX_RECOVER_STREAMS,
  parseRecoverRequest,
} from '../../../src/ws-hub/recovery/recover-request.js';

describe('parseRecoverRequest', () => {
  it('reads the credential and the positions; nothing is a first connection', () => {
    expect(parseRecoverRequest(undefined)).toEqual({ session: undefined, streams: new Map() });
    expect(parseRecoverRequest({})).toEqual({ session: undefined, streams: new Map() });
    const r = parseRecoverRequest({ session: 's', streams: { all: { epoch: 'E', offset: 4 } } });
    expect(r).toEqual({ session: 's', streams: new Map([['all', { epoch: 'E', offset: 4 }]]) });
  });

  it('refuses every other shape with a message naming the field', () => {
    expect(parseRecoverRequest([])).toBe('"data" must be an object');
    expect(parseRecoverRequest({ session: 1 })).toBe('"data.session" must be a string');
    expect(parseRecoverRequest({ streams: [] })).toBe('"data.streams" must be an object');
    for (const bad of [
      { all: { epoch: 'E', offset: -1 } },
      { all: { epoch: 'E', offset: 1.5 } },
      { all: { epoch: 1, offset: 1 } },
      { all: { epoch: 'x'.repeat(65), offset: 1 } },
      { ['r'.repeat(201)]: { epoch: 'E', offset: 1 } },
      { '': { epoch: 'E', offset: 1 } },
      { all: null },
    ]) {
      expect(parseRecoverRequest({ streams: bad })).toMatch(/entries must be/);
    }
    const many = Object.fromEntries(
      Array.from({ length: MAX_RECOVER_STREAMS + 1 }, (_, i) => [
        `room:${i}`,
        { epoch: 'E', offset: 0 },
      ]),
    );
    expect(parseRecoverRequest({ streams: many })).toBe(`at most ${MAX_RECOVER_STREAMS} streams`);
  });
});
