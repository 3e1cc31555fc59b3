import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatClientId, instanceOfClientId } from '../../../src/ws-hub/protocol/client-id.js';

/** Instance ids and random parts are base64url: no dot. */
const base64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 1,
  maxLength: 16,
});

describe('formatClientId', () => {
  it('joins the instance id and the random part with a dot', () => {
    expect(formatClientId('Ab3_x-Z9', 'r4nd0m-_part')).toBe('Ab3_x-Z9.r4nd0m-_part');
  });
});

describe('instanceOfClientId', () => {
  it('reads the instance id back from any id it formatted', () => {
    fc.assert(
      fc.property(base64url, base64url, (instance, random) => {
        expect(instanceOfClientId(formatClientId(instance, random))).toBe(instance);
      }),
    );
  });

  it('reads up to the first dot', () => {
    expect(instanceOfClientId('inst.rand.more')).toBe('inst');
    expect(instanceOfClientId('inst.')).toBe('inst');
  });

  it.each(['', 'no-dot-here', '.starts-with-a-dot', '.'])(
    'answers undefined for %j, which is not a hub client id',
    (id) => {
      expect(instanceOfClientId(id)).toBeUndefined();
    },
  );
});
