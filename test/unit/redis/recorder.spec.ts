import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HubAdapterMessage } from '../../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import { ChannelNames } from '../../../src/ws-hub/redis/channels.js';
import { Recorder, type RecordedMessage } from '../../../src/ws-hub/redis/recorder.js';
import { randomEpochs, StreamKeys } from '../../../src/ws-hub/redis/stream-keys.js';
import { APPEND_PUBLISH, MARK_GAP } from '../../../src/ws-hub/redis/stream-scripts.js';

/** A publisher connection whose replies the test gives by hand. */
function fakeConnection() {
  const calls: {
    script: string;
    args: string[];
    resolve(v: unknown): void;
    reject(e: unknown): void;
  }[] = [];
  return {
    status: 'ready',
    calls,
    eval(script: string, ...args: (string | number)[]): Promise<unknown> {
      return new Promise((resolve, reject) =>
        calls.push({ script, args: args.map(String), resolve, reject }),
      );
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));
const msg = (n: number): RecordedMessage => ({
  type: 'broadcast',
  frame: `{"event":"m","data":${n}}`,
});

function setup(timeoutMs = 1_000) {
  const conn = fakeConnection();
  const applied: HubAdapterMessage[] = [];
  const failures: string[] = [];
  const state = { generation: 1 };
  const recorder = new Recorder({
    conn: () => conn,
    subscriberGeneration: () => state.generation,
    keys: new StreamKeys(new ChannelNames('hub', true)),
    epochs: randomEpochs,
    limits: { historySize: '10', historyTtlMs: '1000', metaTtlMs: '2000' },
    timeoutMs,
    apply: (m) => applied.push(m),
    onFailed: (what) => failures.push(what),
  });
  return { conn, applied, failures, state, recorder };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Recorder', () => {
  it('leaves delivery to the pub/sub copy while the subscriber stays up', async () => {
    const { conn, applied, recorder } = setup();
    recorder.record(1, 'H', msg(1), ['all']);
    expect(conn.calls[0].script).toBe(APPEND_PUBLISH);
    conn.calls[0].resolve('{"all":[1,"E"]}');
    await tick();
    expect(applied).toEqual([]);
    expect(recorder.acceptOwn(1)).toBe(true);
    expect(recorder.stats()).toMatchObject({ historyWrites: 1, historyFailures: 0 });
  });

  it('hands a message over itself when the subscriber reconnected meanwhile, and drops the late copy', async () => {
    const { conn, applied, state, recorder } = setup();
    recorder.record(1, 'H', msg(1), ['all']);
    state.generation = 2;
    conn.calls[0].resolve('{"all":[1,"E"]}');
    await tick();
    expect(applied).toEqual([
      {
        ...msg(1),
        own: true,
        positioned: {
          text: '{"event":"m","data":1,"pos":{"all":[1,"E"]}}',
          positions: { all: [1, 'E'] },
        },
      },
    ]);
    expect(recorder.acceptOwn(1)).toBe(false);
    expect(recorder.acceptOwn(1)).toBe(false); // another room's copy
    expect(recorder.acceptOwn(2)).toBe(true);
  });

  it('does not hand it over when its copy came first', async () => {
    const { conn, applied, state, recorder } = setup();
    state.generation = -1; // resubscribing
    recorder.record(1, 'H', msg(1), ['all']);
    expect(recorder.acceptOwn(1)).toBe(true);
    conn.calls[0].resolve('{"all":[1,"E"]}');
    await tick();
    expect(applied).toEqual([]);
  });

  it('delivers nothing unpositioned when the script fails, and marks the gap once Redis answers', async () => {
    const { conn, applied, failures, recorder } = setup();
    recorder.record(1, 'H', msg(1), ['room:a', 'room:b']);
    conn.calls[0].reject(new Error('LOADING'));
    await tick();
    // Recovering clients get it positioned or not at all (plain ones had it at publish): the
    // script may have run all the same, and its copy then comes through pub/sub.
    expect(applied).toEqual([]);
    expect(recorder.acceptOwn(1)).toBe(true);
    expect(failures).toEqual(['publish']);
    expect(recorder.stats()).toMatchObject({ historyFailures: 1, gapsPending: 2 });
    recorder.flushGaps();
    const marks = conn.calls.slice(1);
    expect(marks.map((c) => [c.script === MARK_GAP, c.args[1]])).toEqual([
      [true, '{hub:room:a}:m'],
      [true, '{hub:room:b}:m'],
    ]);
    // another message of room:a is lost while its tombstone is on the way: it needs its own
    conn.status = 'closed';
    recorder.record(2, 'H', msg(2), ['room:a']);
    conn.status = 'ready';
    for (const c of marks) c.resolve(1);
    await tick();
    expect(recorder.stats()).toMatchObject({ gapsMarked: 2, gapsPending: 1 });
    recorder.flushGaps();
    conn.calls.at(-1)!.resolve(2);
    await tick();
    expect(recorder.stats()).toMatchObject({ gapsMarked: 3, gapsPending: 0 });
  });

  it('does not wait for Redis longer than the timeout', async () => {
    vi.useFakeTimers();
    const { applied, failures, recorder } = setup(200);
    recorder.start();
    recorder.record(1, 'H', msg(1), ['all']);
    recorder.record(2, 'H', msg(2), ['all']);
    vi.advanceTimersByTime(150);
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(150);
    expect(applied).toEqual([]);
    expect(failures).toEqual(['publish']); // once for the batch
    expect(recorder.stats()).toMatchObject({ historyFailures: 2, gapsPending: 1 });
    expect(recorder.acceptOwn(1)).toBe(true); // a late copy (the script ran) is delivered
    recorder.stop();
  });
});
