import { describe, expect, it } from 'vitest';
import { ConnectionGate } from '../../../src/ws-hub/socket/connection-gate.js';
import { captureLogs } from '../../helpers/logs.js';

describe('ConnectionGate', () => {
  it('holds calls until the connection is accepted, then runs them in order, later ones at once', () => {
    const gate = new ConnectionGate();
    const calls: string[] = [];
    gate.whenOpen(() => calls.push('a'));
    gate.whenOpen(() => calls.push('b'));
    expect(calls).toEqual([]);
    expect(gate.opened).toBe(false);
    gate.open();
    expect(calls).toEqual(['a', 'b']);
    gate.whenOpen(() => calls.push('c'));
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(gate.opened).toBe(true);
    gate.drop(); // too late: the app saw the connection
    expect(gate.opened).toBe(true);
  });

  it('never runs the calls of a connection dropped before it was accepted', () => {
    const gate = new ConnectionGate();
    const calls: string[] = [];
    gate.whenOpen(() => calls.push('a'));
    gate.drop();
    gate.open();
    gate.whenOpen(() => calls.push('b'));
    expect(calls).toEqual([]);
    expect(gate.opened).toBe(false);
  });

  it('logs what a handleConnection throws or rejects with, instead of letting it escape', async () => {
    const logs = captureLogs(/handleConnection failed/);
    const gate = new ConnectionGate();
    gate.whenOpen(() => {
      throw new Error('sync boom');
    });
    gate.whenOpen(() => Promise.reject(new Error('async boom')) as unknown as void);
    gate.open();
    await new Promise((r) => setImmediate(r));
    expect(logs.errors()).toEqual([
      "an app gateway's handleConnection failed: sync boom",
      "an app gateway's handleConnection failed: async boom",
    ]);
  });
});
