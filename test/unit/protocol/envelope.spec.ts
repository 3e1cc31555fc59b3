import { describe, expect, it } from 'vitest';
import {
  detailsJson,
  encodeError,
  encodeFrame,
  ERROR_DETAILS_LIMITS,
  MAX_ERROR_CODE_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
  parseFrame,
} from '../../../src/ws-hub/protocol/envelope.js';

describe('parseFrame', () => {
  it('accepts a full envelope', () => {
    expect(parseFrame('{"event":"message","id":7,"data":{"a":[1]}}')).toEqual({
      ok: true,
      envelope: { event: 'message', id: 7, data: { a: [1] } },
    });
  });
  it('keeps __proto__ as data without touching prototypes', () => {
    const parsed = parseFrame('{"event":"message","data":{"__proto__":{"polluted":true}}}');
    expect(parsed.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it.each([
    ['{', 'BAD_JSON'],
    ['', 'BAD_JSON'],
    ['1', 'BAD_ENVELOPE'],
    ['[]', 'BAD_ENVELOPE'],
    ['{"event":""}', 'BAD_ENVELOPE'],
    [`{"event":"${'e'.repeat(129)}"}`, 'BAD_ENVELOPE'],
    [`{"event":"x","id":"${'i'.repeat(129)}"}`, 'BAD_ENVELOPE'],
    ['{"event":"x","id":true}', 'BAD_ENVELOPE'],
    ['{"id":1}', 'BAD_ENVELOPE'],
  ])('rejects %s with %s', (text, code) => {
    const parsed = parseFrame(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.code).toBe(code);
  });
  it('does not read inherited properties as fields', () => {
    const parsed = parseFrame('{}');
    expect(parsed).toMatchObject({ ok: false, code: 'BAD_ENVELOPE' });
  });
  it('reports the id of a bad envelope when it is readable', () => {
    expect(parseFrame('{"id":"abc"}')).toMatchObject({ ok: false, id: 'abc' });
  });
});

describe('encodeFrame', () => {
  it('orders keys event, id, data and omits absent ones', () => {
    expect(encodeFrame('ack', { x: 1 }, 3)).toBe('{"event":"ack","id":3,"data":{"x":1}}');
    expect(encodeFrame('ack', undefined, 'a')).toBe('{"event":"ack","id":"a"}');
    expect(encodeFrame('news', null)).toBe('{"event":"news","data":null}');
    expect(encodeFrame('news', () => 1)).toBe('{"event":"news"}');
  });
  it('round-trips through JSON.parse', () => {
    const data = { s: 'é"\\\n', n: [1.5, -0, 1e300], nested: { a: { b: {} } } };
    expect(JSON.parse(encodeFrame('e"v', data, 'i"d'))).toEqual({
      event: 'e"v',
      id: 'i"d',
      data: JSON.parse(JSON.stringify(data)),
    });
  });
});

describe('encodeError', () => {
  const data = (text: string) => JSON.parse(text).data;

  it('carries details within the limits', () => {
    const details = [{ property: 'text', constraints: { maxLength: 'too long' } }];
    expect(data(encodeError('BAD_REQUEST', 'invalid', 7, details))).toEqual({
      code: 'BAD_REQUEST',
      message: 'invalid',
      details,
    });
    expect(JSON.parse(encodeError('X', 'm', 'i')).id).toBe('i');
  });

  it.each([
    ['8 000 nested arrays', JSON.parse('['.repeat(8000) + ']'.repeat(8000))],
    ['nesting past the depth limit', JSON.parse('['.repeat(9) + ']'.repeat(9))],
    ['a BigInt', { n: 10n }],
    [
      'a circular object',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ['too many values', Array.from({ length: ERROR_DETAILS_LIMITS.maxValues + 1 }, () => 1)],
    ['too many characters', ['x'.repeat(ERROR_DETAILS_LIMITS.maxChars + 1)]],
    [
      'a throwing getter',
      Object.defineProperty({}, 'x', {
        enumerable: true,
        get: () => {
          throw new Error('no');
        },
      }),
    ],
    ['an own toJSON', { toJSON: () => ({ secret: 1 }) }],
  ])('falls back to a frame without details for %s, and never throws', (_, details) => {
    const frame = JSON.parse(encodeError('APP_ERROR', 'invalid', 1, details));
    expect(frame).toEqual({
      event: 'error',
      id: 1,
      data: { code: 'APP_ERROR', message: 'invalid' },
    });
  });

  it('keeps prototype keys as data, dates as strings, and cuts long codes and messages', () => {
    const details = JSON.parse('{"__proto__":{"polluted":1},"at":0}');
    details.at = new Date(0);
    expect(data(encodeError('X', 'm', undefined, details)).details).toEqual({
      ['__proto__']: { polluted: 1 },
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const long = data(encodeError('C'.repeat(100), 'm'.repeat(2000)));
    expect(long.code).toHaveLength(MAX_ERROR_CODE_CHARS);
    expect(long.message).toHaveLength(MAX_ERROR_MESSAGE_CHARS);
    expect(long.message.endsWith('...')).toBe(true);
  });

  it('encodes lone surrogates as escapes (valid UTF-8 on the wire)', () => {
    const text = encodeError('X', 'bad \uD800 text', undefined, ['\uDC00']);
    expect(text).toContain('\\ud800');
    expect(Buffer.from(text).toString()).toBe(text);
  });

  it('detailsJson returns undefined rather than throwing', () => {
    expect(detailsJson(undefined)).toBeUndefined();
    expect(detailsJson({ a: [1, 'b', null, true] })).toBe('{"a":[1,"b",null,true]}');
  });
});
