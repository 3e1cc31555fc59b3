import { describe, expect, it } from 'vitest';
import { newEpoch, newInstanceId, randomId } from '../../../src/ws-hub/util/random.js';

describe('random identifiers', () => {
  it('have their documented lengths and alphabet, and do not repeat', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) ids.add(randomId()); // crosses several pool refills
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(newEpoch()).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(newInstanceId()).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(newEpoch()).not.toBe(newEpoch());
  });
});
