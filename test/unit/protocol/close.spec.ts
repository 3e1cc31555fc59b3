import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isAppCloseCode,
  MAX_CLOSE_REASON_BYTES,
  truncateReason,
} from '../../../src/ws-hub/protocol/close.js';

const bytes = (s: string) => Buffer.byteLength(s);
/** True when `s` is well-formed UTF-16 (no lone surrogate that UTF-8 would replace). */
const wellFormed = (s: string) => Buffer.from(s).toString() === s;

describe('truncateReason', () => {
  it('allows 123 bytes, the most a control frame leaves for a reason (RFC 6455 5.5)', () => {
    expect(MAX_CLOSE_REASON_BYTES).toBe(123);
  });

  it('keeps a reason of up to 123 bytes as it is', () => {
    expect(truncateReason('')).toBe('');
    expect(truncateReason('server shutting down')).toBe('server shutting down');
    const exact = 'r'.repeat(123);
    expect(truncateReason(exact)).toBe(exact);
    const exactWide = '漢'.repeat(41); // 3 bytes each: 123
    expect(truncateReason(exactWide)).toBe(exactWide);
  });

  it('cuts an ASCII reason to 123 characters', () => {
    expect(truncateReason('r'.repeat(124))).toBe('r'.repeat(123));
    expect(truncateReason('x'.repeat(300))).toBe('x'.repeat(123));
  });

  it('counts bytes, not characters, and never cuts a multi-byte character', () => {
    // 62 × 2 bytes = 124: one must go, and the 123rd byte would be half an "é"
    expect(truncateReason('é'.repeat(62))).toBe('é'.repeat(61));
    expect(truncateReason('漢'.repeat(42))).toBe('漢'.repeat(41));
    // 1 + 41 × 3 = 124: the last character does not fit, not even in part
    expect(truncateReason('a' + '漢'.repeat(41))).toBe('a' + '漢'.repeat(40));
  });

  it('never leaves half a surrogate pair', () => {
    // 31 × 4 bytes = 124
    expect(truncateReason('🚀'.repeat(31))).toBe('🚀'.repeat(30));
    // 120 + 4 + 1 = 125 bytes in 123 UTF-16 units: the cut falls inside the pair
    expect(truncateReason('a'.repeat(120) + '🚀b')).toBe('a'.repeat(120));
    // 119 + 4 = 123 bytes: the pair fits exactly
    expect(truncateReason('a'.repeat(119) + '🚀b')).toBe('a'.repeat(119) + '🚀');
  });

  it('returns the longest prefix that fits, in whole characters, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (reason) => {
        const out = truncateReason(reason);
        expect(reason.startsWith(out)).toBe(true);
        expect(bytes(out)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
        expect(wellFormed(out)).toBe(true);
        if (bytes(reason) <= MAX_CLOSE_REASON_BYTES) {
          expect(out).toBe(reason);
        } else {
          const next = String.fromCodePoint(reason.codePointAt(out.length)!);
          expect(bytes(out + next)).toBeGreaterThan(MAX_CLOSE_REASON_BYTES);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('isAppCloseCode', () => {
  it.each([1000, 3000, 3999, 4000, 4999])('accepts %i', (code) => {
    expect(isAppCloseCode(code)).toBe(true);
  });

  it.each([
    0,
    -1,
    999,
    1001,
    1005,
    1006,
    1008,
    1011,
    1015,
    2999,
    5000,
    65535,
    3000.5,
    NaN,
    Infinity,
  ])('refuses %s (reserved for the protocol or not a close code)', (code) => {
    expect(isAppCloseCode(code)).toBe(false);
  });
});
