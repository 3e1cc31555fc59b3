import { describe, expect, it } from 'vitest';
import {
  hashSecret,
  issueCredential,
  readCredential,
  sameHash,
} from '../../../src/ws-hub/recovery/credentials.js';
import { parseRecoverRequest } from '../../../src/ws-hub/recovery/recover-request.js';

describe('resume credentials', () => {
  it('binds a 144-bit secret to the client id; only its hash is kept', () => {
    const a = issueCredential('inst.abc');
    const b = issueCredential('inst.abc');
    expect(a.credential).toMatch(/^inst\.abc~[A-Za-z0-9_-]{24}$/);
    expect(a.credential).not.toBe(b.credential);
    expect(a.hash).not.toContain(a.credential.split('~')[1]);
    const read = readCredential(a.credential)!;
    expect(read.clientId).toBe('inst.abc');
    expect(sameHash(read.hash, a.hash)).toBe(true);
    expect(sameHash(read.hash, b.hash)).toBe(false);
    expect(sameHash(hashSecret('x'), 'short')).toBe(false);
  });

  it('refuses malformed credentials', () => {
    for (const bad of [undefined, 42, '', '~x', 'id~', 'x'.repeat(400)]) {
      expect(readCredential(bad)).toBeUndefined();
    }
  });
});

describe('parseRecoverRequest', () => {
  it('reads the session and stream positions', () => {
    expect(
      parseRecoverRequest({ session: 's', streams: { all: { epoch: 'E', offset: 3 } } }),
    ).toEqual({
      session: 's',
      streams: new Map([['all', { epoch: 'E', offset: 3 }]]),
    });
    expect(parseRecoverRequest(undefined)).toEqual({ session: undefined, streams: new Map() });
  });

  it('describes what is wrong with a malformed request', () => {
    expect(parseRecoverRequest('x')).toBe('"data" must be an object');
    expect(parseRecoverRequest({ session: 1 })).toBe('"data.session" must be a string');
    expect(parseRecoverRequest({ streams: { all: { epoch: 'E', offset: -1 } } })).toMatch(/offset/);
    expect(parseRecoverRequest({ streams: { all: { offset: 1 } } })).toMatch(/epoch/);
  });
});
