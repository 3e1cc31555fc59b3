import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/ws-hub/core/connection.js';
import { DRAIN_BATCH_INTERVAL_MS } from '../../../src/ws-hub/core/drainer.js';
import type { HubDisconnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import { CloseCode, DisconnectReason } from '../../../src/ws-hub/protocol/constants.js';
import { connectPeers, type CoreParts, type Peer, useCoreParts } from '../../helpers/core-parts.js';

let core: CoreParts;
let left: HubDisconnectedEvent[];

const fixture = useCoreParts();

async function setup(n: number): Promise<Peer[]> {
  core = fixture.build({ welcome: false });
  left = [];
  core.events.disconnected.subscribe((e) => left.push(e));
  return connectPeers(
    core,
    fixture.pairs,
    Array.from({ length: n }, () => undefined),
  );
}

const removed = (peers: { client: Connection }[]) => peers.filter((p) => p.client.removed).length;

describe('Drainer', () => {
  it('has nothing to do without clients', async () => {
    await setup(0);
    expect(await core.drainer.run(1000, 1000)).toEqual({ clients: 0, answered: 0, spreadMs: 0 });
  });

  it('closes every client with 1012 in batches spread over drainMs', async () => {
    const peers = await setup(6);
    // 150 ms: 3 batches of 2
    const run = core.drainer.run(3 * DRAIN_BATCH_INTERVAL_MS, 1000);
    expect(removed(peers)).toBe(2); // the first batch goes at once
    const result = await run;
    expect(result.clients).toBe(6);
    expect(result.answered).toBe(6);
    expect(result.spreadMs).toBeGreaterThanOrEqual(2 * DRAIN_BATCH_INTERVAL_MS - 5);
    expect(result.spreadMs).toBeLessThan(1000);
    for (const p of peers) {
      expect(await p.pair.closed).toEqual({
        code: CloseCode.SERVICE_RESTART,
        reason: 'server restarting',
      });
    }
    expect(left.map((e) => e.reason)).toEqual(Array(6).fill(DisconnectReason.SERVER_SHUTDOWN));
    expect(core.registry.size).toBe(0);
  });

  it('one batch when drainMs is shorter than a batch interval', async () => {
    const peers = await setup(3);
    const run = core.drainer.run(10, 1000);
    expect(removed(peers)).toBe(3);
    expect((await run).spreadMs).toBeLessThan(DRAIN_BATCH_INTERVAL_MS);
  });

  it('skips a client that left meanwhile', async () => {
    const peers = await setup(4);
    const run = core.drainer.run(4 * DRAIN_BATCH_INTERVAL_MS, 1000);
    expect(removed(peers)).toBe(1);
    core.closer.close(peers[3].client, 4000, 'gone', 'app');
    const result = await run;
    expect(result.clients).toBe(3);
    expect((await peers[3].pair.closed).code).toBe(4000);
  });

  it('does not count a peer cut by its grace timer as answered', async () => {
    const peers = await setup(2);
    (peers[0].pair.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const result = await core.drainer.run(10, 150);
    expect(result).toMatchObject({ clients: 2, answered: 1 });
  });

  it('dispose stops a drain in progress; its promise resolves', async () => {
    const peers = await setup(3);
    const run = core.drainer.run(100 * DRAIN_BATCH_INTERVAL_MS, 1000); // one client per batch
    expect(removed(peers)).toBe(1);
    core.drainer.dispose();
    const result = await run;
    expect(result.clients).toBe(1);
    expect(removed(peers)).toBe(1);
    expect(core.registry.size).toBe(2);
  });
});
