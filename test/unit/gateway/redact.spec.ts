import { describe, expect, it } from 'vitest';
import { redactedError } from '../../../src/ws-hub/gateway/redact.js';

describe('redactedError: what an authenticate error may say in a log line', () => {
  it('masks the token and its parts', () => {
    const token = 'bad.SECRET-abc123';
    const text = redactedError(new Error(`token ${token} is not a JWT`), token, '/ws');
    expect(text).toBe('token *** is not a JWT');
    const part = redactedError(new Error('signature SECRET invalid, kid abc123'), token, '/ws');
    expect(part).not.toMatch(/SECRET|abc123/);
  });

  it('masks the query string and keeps the error class', () => {
    class JwtError extends Error {
      override name = 'JwtError';
    }
    const text = redactedError(
      new JwtError('bad request /ws?token=t0k3n&x=1'),
      't0k3n',
      '/ws?token=t0k3n&x=1',
    );
    expect(text).toBe('JwtError: bad request /ws?***');
  });

  it('cuts long texts and survives odd thrown values', () => {
    expect(redactedError(new Error('x'.repeat(500)), undefined, undefined)).toHaveLength(203);
    expect(redactedError('plain string', 'plain', undefined)).toBe('*** string');
    expect(redactedError(Object.create(null), undefined, undefined)).toBe('[object Object]');
  });
});
