import { describe, expect, it } from 'vitest';
import { CopyLedger } from '../../../src/ws-hub/recovery/copy-ledger.js';

describe('CopyLedger', () => {
  it('keeps a message for one to two windows, then forgets it', () => {
    let now = 0;
    const ledger = new CopyLedger(100, () => now);
    ledger.of('m').set('c1', { 'room:a': [3, 'E'] });
    now = 150; // one swap: still known
    expect([...ledger.of('m').keys()]).toEqual(['c1']);
    expect(ledger.get('m', 'c1')).toEqual({ 'room:a': [3, 'E'] });
    now = 260; // kept alive by the read above (moved to the current generation)
    expect(ledger.of('m').has('c1')).toBe(true);
    now = 600; // two windows without a read: gone
    expect(ledger.of('m').size).toBe(0);
    expect(ledger.size).toBe(1);
    ledger.clear();
    expect(ledger.size).toBe(0);
  });
});
