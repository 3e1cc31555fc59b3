import { describe, expect, it } from 'vitest';
import { encodeFrame, parseFrame } from '../../../src/ws-hub/protocol/envelope.js';

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
