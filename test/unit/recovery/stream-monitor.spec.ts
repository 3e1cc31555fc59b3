import { describe, expect, it } from 'vitest';
import { StreamMonitor } from '../../../src/ws-hub/recovery/stream-monitor.js';

describe('StreamMonitor', () => {
  it('starts a stream at its first message, then accepts only the next offset', () => {
    const m = new StreamMonitor();
    expect(m.check({ all: [3, 'E'] })).toBeUndefined();
    expect(m.check({ all: [4, 'E'] })).toBeUndefined();
    expect(m.check({ all: [6, 'E'] })).toEqual([['all', 'gap']]);
    expect(m.position('all')).toEqual({ epoch: 'E', offset: 6 }); // continues from there
    expect(m.check({ all: [1, 'F'] })).toEqual([['all', 'epoch']]);
    expect(m.check({ all: [1, 'F'] })).toEqual([['all', 'rollback']]); // a reused offset
    expect(m.position('all')).toEqual({ epoch: 'F', offset: 1 }); // kept: the stream gets a new epoch
    expect(m.breaks).toEqual({ gap: 1, epoch: 1, rollback: 1 });
  });

  it('checks only the streams this instance hears', () => {
    const m = new StreamMonitor();
    m.check({ 'room:a': [1, 'E'] });
    const hears = (s: string) => s !== 'room:a';
    expect(m.check({ 'room:a': [9, 'E'], all: [1, 'E'] }, hears)).toBeUndefined();
    expect(m.position('room:a')).toEqual({ epoch: 'E', offset: 1 });
  });

  it('compares tops read after a barrier: ahead is a gap, another epoch a loss; startOnly only starts', () => {
    const m = new StreamMonitor();
    m.compare([{ stream: 'all', epoch: 'E', top: 5 }], true);
    expect(m.position('all')).toEqual({ epoch: 'E', offset: 5 });
    expect(m.compare([{ stream: 'all', epoch: 'E', top: 9 }], true)).toBeUndefined();
    expect(m.compare([{ stream: 'all', epoch: 'E', top: 5 }])).toBeUndefined();
    expect(m.compare([{ stream: 'all', epoch: 'E', top: 7 }])).toEqual([['all', 'gap']]);
    expect(m.compare([{ stream: 'all', epoch: 'G', top: 7 }])).toEqual([['all', 'epoch']]);
    // A stream with no epoch yet is started at offset 0 (its first message must be offset 1).
    m.compare([{ stream: 'user:u', epoch: '', top: 0 }], true);
    expect(m.position('user:u')).toEqual({ epoch: '', offset: 0 });
  });

  it('forgets a stream it stops hearing: the next message starts it anew', () => {
    const m = new StreamMonitor();
    m.check({ 'room:a': [1, 'E'] });
    m.unsubscribed('room:a');
    expect(m.check({ 'room:a': [40, 'E'] })).toBeUndefined();
    m.forget('room:a');
    expect(m.streams()).toEqual([]);
  });
});

describe('StreamMonitor: streams without history yet', () => {
  it('watches a stream read at no epoch: its first message must be offset 1', () => {
    const m = new StreamMonitor();
    m.compare([{ stream: 'client:c', epoch: '', top: 0 }], true);
    expect(m.check({ 'client:c': [2, 'E'] })).toEqual([['client:c', 'gap']]);
    const n = new StreamMonitor();
    n.compare([{ stream: 'client:c', epoch: '', top: 0 }], true);
    expect(n.check({ 'client:c': [1, 'E'] })).toBeUndefined();
    expect(n.check({ 'client:c': [2, 'E'] })).toBeUndefined();
  });
});
