import { describe, expect, it } from 'vitest';
import { OwnDeliveries } from '../../../src/ws-hub/cluster/own-deliveries.js';
import { REORDER_WINDOW } from '../../../src/ws-hub/cluster/sequence-filter.js';

describe('OwnDeliveries', () => {
  it('accepts every copy until one was handed over here, then drops that one only', () => {
    const own = new OwnDeliveries(false);
    expect(own.accept(1)).toBe(true);
    own.add(2);
    expect(own.accept(2)).toBe(false);
    expect(own.accept(2)).toBe(false); // another room's copy
    expect(own.accept(3)).toBe(true);
  });

  it('forgets what is older than the copy arriving (in order), or than its window (reordering)', () => {
    const inOrder = new OwnDeliveries(false);
    inOrder.add(1);
    expect(inOrder.accept(2)).toBe(true);
    expect(inOrder.accept(1)).toBe(true); // forgotten: copies come in order
    const reordering = new OwnDeliveries(true);
    reordering.add(1);
    expect(reordering.accept(2)).toBe(true);
    expect(reordering.accept(1)).toBe(false); // kept within the window
    expect(reordering.accept(2 + REORDER_WINDOW)).toBe(true);
    expect(reordering.accept(1)).toBe(true);
  });

  it('clear forgets everything', () => {
    const own = new OwnDeliveries(false);
    own.add(5);
    own.clear();
    expect(own.accept(5)).toBe(true);
  });
});
