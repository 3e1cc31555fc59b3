import { describe, expect, it } from 'vitest';
import { CLOSE_POLICY, closePolicy } from '../../../src/ws-hub/client/close-policy.js';

describe('close policy', () => {
  it.each([
    [1000, 'stop', 'server'],
    [1001, 'retry', 'lost'],
    [1006, 'retry', 'lost'],
    [1008, 'slow', 'policy'],
    [1009, 'slow', 'policy'],
    [1011, 'retry', 'lost'],
    [1013, 'retry', 'lost'],
    [4401, 'stop', 'refused'],
    [4403, 'stop', 'refused'],
  ])('%i → %s (%s)', (code, action, cause) => {
    expect(closePolicy(code)).toEqual({ action, cause });
    expect(CLOSE_POLICY[code]).toEqual({ action, cause });
  });

  it('retries codes it does not know', () => {
    for (const code of [1002, 1005, 1007, 1012, 3000, 4000, 4999]) {
      expect(closePolicy(code)).toEqual({ action: 'retry', cause: 'lost' });
    }
  });
});
