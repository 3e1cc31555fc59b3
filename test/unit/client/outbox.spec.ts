import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../../src/ws-hub/client/outbox.js';

describe('outbox', () => {
  it('keeps order and refuses past its bound', () => {
    const outbox = createOutbox(2);
    expect(outbox.push({ frame: 'a' })).toBe(true);
    expect(outbox.push({ frame: 'b', id: 1 })).toBe(true);
    expect(outbox.push({ frame: 'c' })).toBe(false);
    expect(outbox.size).toBe(2);
    expect(outbox.drain().map((item) => item.frame)).toEqual(['a', 'b']);
    expect(outbox.size).toBe(0);
    expect(outbox.push({ frame: 'd' })).toBe(true);
  });

  it('removes a request by id, freeing its slot', () => {
    const outbox = createOutbox(3);
    outbox.push({ frame: 'a', id: 1 });
    outbox.push({ frame: 'b', id: 2 });
    outbox.push({ frame: 'c' });
    outbox.remove(1);
    expect(outbox.push({ frame: 'd' })).toBe(true);
    expect(outbox.drain().map((item) => item.frame)).toEqual(['b', 'c', 'd']);
  });

  it('with a bound of 0 queues nothing', () => {
    expect(createOutbox(0).push({ frame: 'a' })).toBe(false);
  });
});
