import { describe, expect, it } from 'vitest';
import { errorText } from '../../../src/ws-hub/util/error-text.js';

describe('errorText', () => {
  it('gives the message of an Error, and a string as it is', () => {
    expect(errorText(new TypeError('bad thing'))).toBe('bad thing');
    expect(errorText('plain text')).toBe('plain text');
    expect(errorText({ message: 'error-like' })).toBe('error-like');
  });

  it('falls back to String() for values without a string message', () => {
    expect(errorText(42)).toBe('42');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorText(null)).toBe('null');
    expect(errorText({ message: 7 })).toBe('[object Object]');
  });

  it('never throws, even for values that cannot be turned into a string', () => {
    expect(errorText(Object.create(null))).toBe('[object Object]');
    const hostile = {
      get message(): string {
        throw new Error('no');
      },
      toString(): string {
        throw new Error('no');
      },
    };
    expect(errorText(hostile)).toBe('[object Object]');
    expect(errorText(Symbol('s'))).toBe('Symbol(s)');
  });
});
