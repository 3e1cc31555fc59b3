import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HubAdapterHost } from '../../../src/ws-hub/interfaces/cluster-adapter.interface.js';
import { hubLogger } from '../../../src/ws-hub/util/logger.js';
import {
  parseView,
  Presence,
  presenceKeys,
  type PresenceConnection,
  type PresenceDeps,
} from '../../../src/ws-hub/redis/presence.js';
import { LEAVE, PRESENCE_REFRESH, QUERY } from '../../../src/ws-hub/redis/scripts.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('presence arithmetic', () => {
  it('parses the flat id, lastSeen, online, layout reply of the scripts', () => {
    expect(parseView(['a', '1700000000000', '3', 'L', 'b', 1700000000500, '0', ''])).toEqual([
      { id: 'a', lastSeenAt: 1700000000000, online: 3, layout: 'L' },
      { id: 'b', lastSeenAt: 1700000000500, online: 0, layout: '' },
    ]);
  });

  it('reads a bad count as 0, ignores an incomplete entry and anything but a list', () => {
    expect(parseView(['a', '5', 'x', 'L', 'b', '6'])).toEqual([
      { id: 'a', lastSeenAt: 5, online: 0, layout: 'L' },
    ]);
    expect(parseView(null)).toEqual([]);
    expect(parseView('a,1,2')).toEqual([]);
  });

  it('names the presence keys under the prefix', () => {
    expect(presenceKeys('hub')).toEqual(['hub:instances', 'hub:online', 'hub:layout']);
    expect(presenceKeys('hub', true)).toEqual(['{hub}:instances', '{hub}:online', '{hub}:layout']);
  });
});

/** A publisher connection answering the presence scripts with whatever `reply` returns. */
function fakePub(reply: (script: string) => Promise<unknown>): PresenceConnection & {
  status: string;
  calls: { script: string; numKeys: number; args: string[] }[];
} {
  const calls: { script: string; numKeys: number; args: string[] }[] = [];
  return {
    status: 'ready',
    calls,
    eval: (script, numKeys, ...args) => {
      calls.push({ script, numKeys, args });
      return reply(script);
    },
  };
}

function setup(
  reply: (script: string) => Promise<unknown>,
  over: Partial<PresenceDeps> = {},
): {
  presence: Presence;
  pub: ReturnType<typeof fakePub>;
  gone: string[];
  failures: [string, unknown][];
  refreshed: string[][];
  host: HubAdapterHost & { localOnline: number };
} {
  const pub = fakePub(reply);
  const gone: string[] = [];
  const failures: [string, unknown][] = [];
  const refreshed: string[][] = [];
  const host = {
    instanceId: 'self',
    localOnline: 3,
    applyRemote: () => undefined,
    instanceGone: (id: string) => gone.push(id),
  };
  const presence = new Presence({
    pub,
    host,
    keys: presenceKeys('p'),
    layout: 'L',
    instanceTimeoutMs: 6_000,
    commandTimeoutMs: 50,
    onFailure: (what, err) => failures.push([what, err]),
    onRefreshed: (live) => refreshed.push([...live]),
    ...over,
  });
  return { presence, pub, gone, failures, refreshed, host };
}

describe('Presence', () => {
  it('refreshes this instance with its count and a TTL of ten timeouts (at least a minute)', async () => {
    const { presence, pub } = setup(async () => ['self', '1', '3', 'L']);
    await presence.refresh();
    expect(pub.calls).toEqual([
      {
        script: PRESENCE_REFRESH,
        numKeys: 3,
        args: ['p:instances', 'p:online', 'p:layout', '6000', 'self', '3', '60000', 'L'],
      },
    ]);
  });

  it('reports each instance that left the live view once, never one it never saw', async () => {
    let view = ['self', '1', '3', 'L', 'a', '1', '1', 'L', 'b', '1', '1', 'L'];
    const { presence, gone, refreshed } = setup(async () => view);
    await presence.refresh();
    expect(gone).toEqual([]);
    expect(refreshed).toEqual([['self', 'a', 'b']]);
    view = ['self', '2', '3', 'L', 'b', '2', '1', 'L', 'c', '2', '0', 'L'];
    await presence.refresh();
    expect(gone).toEqual(['a']);
    view = ['c', '3', '0', 'L']; // this instance pruned (a long pause): still not "gone"
    await presence.refresh();
    expect(gone).toEqual(['a', 'b']);
    await presence.refresh();
    expect(gone).toEqual(['a', 'b']);
  });

  it('logs a throwing instanceGone listener and still reports the others', async () => {
    const warn = vi.spyOn(hubLogger, 'warn').mockImplementation(() => undefined);
    let view = ['a', '1', '1', 'L', 'b', '1', '1', 'L'];
    const seen: string[] = [];
    const { presence } = setup(async () => view, {
      host: {
        instanceId: 'self',
        localOnline: 0,
        applyRemote: () => undefined,
        instanceGone: (id) => {
          seen.push(id);
          if (id === 'a') throw new Error('listener broke');
        },
      },
    });
    await presence.refresh();
    view = [];
    await presence.refresh();
    expect(seen).toEqual(['a', 'b']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toBe('instanceGone(a) failed: listener broke');
  });

  it('reports a presence command that does not answer in time, or fails', async () => {
    const slow = setup(() => new Promise(() => undefined));
    await slow.presence.refresh();
    expect(slow.failures).toEqual([['presence', 'no answer within 50 ms']]);
    expect(await slow.presence.instances()).toEqual([
      { id: 'self', online: 3, lastSeenAt: expect.any(Number) },
    ]);
    expect(slow.refreshed).toEqual([]);

    const err = new Error('LOADING');
    const failing = setup(() => Promise.reject(err));
    await failing.presence.refresh();
    expect(failing.failures).toEqual([['presence', err]]);
  });

  it('skips a presence refresh while one is running, and while not connected', async () => {
    let release: (v: unknown) => void = () => undefined;
    const { presence, pub } = setup(() => new Promise((r) => (release = r)), {
      commandTimeoutMs: 5_000,
    });
    const first = presence.refresh();
    await presence.refresh();
    expect(pub.calls).toHaveLength(1);
    release([]);
    await first;
    pub.status = 'reconnecting';
    await presence.refresh();
    expect(pub.calls).toHaveLength(1);
  });

  it('shares one query between concurrent reads and uses its own count live', async () => {
    const { presence, pub, host } = setup(async () => [
      'a',
      '10',
      '2',
      'L',
      'self',
      '20',
      '0',
      'L',
    ]);
    host.localOnline = 7;
    const [x, y] = await Promise.all([presence.instances(), presence.instances()]);
    expect(pub.calls.map((c) => c.script)).toEqual([QUERY]);
    expect(pub.calls[0].args).toEqual(['p:instances', 'p:online', 'p:layout', '6000']);
    expect(x).toEqual([
      { id: 'a', online: 2, lastSeenAt: 10 },
      { id: 'self', online: 7, lastSeenAt: 20 },
    ]);
    expect(y).toEqual(x);
    await presence.instances();
    expect(pub.calls).toHaveLength(2); // a later read queries again
  });

  it('leaves at once, then answers alone and refreshes no more', async () => {
    const { presence, pub } = setup(async () => ['a', '1', '1', 'L']);
    await presence.leave();
    expect(pub.calls).toEqual([
      { script: LEAVE, numKeys: 3, args: ['p:instances', 'p:online', 'p:layout', 'self'] },
    ]);
    await presence.refresh();
    expect((await presence.instances()).map((i) => i.id)).toEqual(['self']);
    expect(pub.calls).toHaveLength(1);
  });
});
