import { describe, expect, it } from 'vitest';
import { HandshakeAdmission } from '../../../src/ws-hub/gateway/admission.js';

describe('HandshakeAdmission (maxHandshakesPerSecond)', () => {
  it("admits a second's worth at once, then the rate", () => {
    let now = 0;
    const a = new HandshakeAdmission(10, () => now);
    const first = Array.from({ length: 12 }, () => a.admit());
    expect(first.filter((r) => r === undefined)).toHaveLength(10);
    now = 100; // one more token
    expect(a.admit()).toBeUndefined();
    expect(a.admit()).toBeDefined();
    now = 10_000; // idle: the bucket is full again, never more than a second's worth
    expect(Array.from({ length: 11 }, () => a.admit()).filter((r) => r === undefined)).toHaveLength(
      10,
    );
  });

  it('tells the refused to come back spread at the rate: 1 s, 2 s, ... (at most 600)', () => {
    const now = 0;
    const a = new HandshakeAdmission(100, () => now);
    for (let i = 0; i < 100; i++) expect(a.admit()).toBeUndefined();
    const waits = Array.from({ length: 900 }, () => a.admit()!);
    const perSecond = new Map<number, number>();
    for (const w of waits) perSecond.set(w, (perSecond.get(w) ?? 0) + 1);
    expect([...perSecond]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => [s, 100]));
    const slow = new HandshakeAdmission(1, () => now);
    slow.admit();
    for (let i = 0; i < 700; i++) slow.admit();
    expect(slow.admit()).toBe(600);
  });
});
