import { describe, expect, it } from 'vitest';
import { readPositiveInt, show } from '../../../src/ws-hub/options/validators.js';

describe('show', () => {
  it.each([
    ['abc', '"abc"'],
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    [42, '42'],
    [-1.5, '-1.5'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'undefined'],
  ])('shows %j as %s', (value, shown) => {
    expect(show(value)).toBe(shown);
  });

  it('shows objects, arrays and functions by type only, never their content', () => {
    expect(show({ password: 'hunter2' })).toBe('object');
    expect(show(['secret'])).toBe('object');
    expect(show(() => 'secret')).toBe('function');
    expect(show(10n)).toBe('bigint');
    expect(show(Symbol('secret'))).toBe('symbol');
  });
});

describe('readPositiveInt', () => {
  const fail = (problem: string): never => {
    throw new Error(problem);
  };

  it.each([1, 2, 25_000, Number.MAX_SAFE_INTEGER])('returns %d as it is', (value) => {
    expect(readPositiveInt(value, 7, 'units', fail)).toBe(value);
  });

  it('returns the fallback when the value is absent (undefined or null)', () => {
    expect(readPositiveInt(undefined, 7, 'units', fail)).toBe(7);
    expect(readPositiveInt(null, 7, 'units', fail)).toBe(7);
    expect(readPositiveInt(undefined, Infinity, 'units', fail)).toBe(Infinity);
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [
      '10 ms',
      '"10 ms" (environment values are strings: convert them (Number(value), value === "true"))',
    ],
    [true, 'true'],
    [{}, 'object'],
  ])('calls fail for %j, naming the unit and showing the value', (value, shown) => {
    expect(() => readPositiveInt(value, 7, 'milliseconds', fail)).toThrow(
      new Error(`must be a positive integer (milliseconds), got ${shown}`),
    );
  });

  it('reads a string of decimal digits (an environment value) as the number', () => {
    expect(readPositiveInt('10', 7, 'milliseconds', fail)).toBe(10);
    expect(readPositiveInt(' 250\n', 7, 'milliseconds', fail)).toBe(250);
  });

  it('lets the caller choose the error thrown', () => {
    class OwnError extends Error {}
    expect(() =>
      readPositiveInt(-5, 1, 'bytes', (problem) => {
        throw new OwnError(`option "x" ${problem}`);
      }),
    ).toThrow(OwnError);
  });
});
