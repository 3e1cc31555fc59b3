import { describe, expect, it } from 'vitest';
import {
  HubCounters,
  MAX_APP_ERROR_LABELS,
  OTHER_ERROR_CODE,
  OTHER_REASON,
} from '../../../src/ws-hub/core/hub-counters.js';

describe('HubCounters: labels come from a bounded set', () => {
  it('counts built-in and declared codes under their own label, always', () => {
    const c = new HubCounters(['ROOM_FULL']);
    for (let i = 0; i < 100; i++) c.countError(`JUNK_${i}`);
    c.countError('BAD_JSON');
    c.countError('ROOM_FULL');
    expect(c.errors.get('BAD_JSON')).toBe(1);
    expect(c.errors.get('ROOM_FULL')).toBe(1);
  });

  it('gives the first 20 other UPPER_SNAKE codes a label, then counts the rest as OTHER', () => {
    const c = new HubCounters();
    for (let i = 0; i < 30; i++) c.countError(`CODE_${i}`);
    c.countError('not a code, with spaces');
    c.countError('CODE_0');
    expect(c.errors.size).toBe(MAX_APP_ERROR_LABELS + 1);
    expect(c.errors.get('CODE_0')).toBe(2);
    expect(c.errors.get(OTHER_ERROR_CODE)).toBe(30 - MAX_APP_ERROR_LABELS + 1);
  });

  it('counts closes under the built-in reasons, an app code under "other"', () => {
    const c = new HubCounters();
    c.countClosed('client-closed');
    c.countClosed('ROOM_FULL');
    c.countClosed('anything');
    expect([...c.closed]).toEqual([
      ['client-closed', 1],
      [OTHER_REASON, 2],
    ]);
  });
});
