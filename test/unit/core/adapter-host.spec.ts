import { describe, expect, it } from 'vitest';
import { AdapterHost } from '../../../src/ws-hub/core/adapter-host.js';
import { PlainDelivery } from '../../../src/ws-hub/core/plain-delivery.js';
import type { HubDisconnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import { CloseCode, DisconnectReason } from '../../../src/ws-hub/protocol/constants.js';
import { sleep } from '../../helpers/client.js';
import { connectPeers, type CoreParts, type Peer, useCoreParts } from '../../helpers/core-parts.js';

let core: CoreParts;
let left: HubDisconnectedEvent[];

const fixture = useCoreParts();

async function setup(users: (string | undefined)[]): Promise<Peer[]> {
  core = fixture.build({ welcome: false });
  left = [];
  core.events.disconnected.subscribe((e) => left.push(e));
  return connectPeers(core, fixture.pairs, users);
}

describe('AdapterHost', () => {
  it('tells the adapter who it is and how many clients it has', async () => {
    await setup([undefined, undefined]);
    expect(core.adapterHost.instanceId).toBe(core.instanceId);
    expect(core.adapterHost.localOnline).toBe(2);
    expect(core.adapter.host).toBe(core.adapterHost);
  });

  it("applies other instances' frames through the delivery strategy, publishing nothing", async () => {
    const [a, b, c] = await setup(['u1', 'u2', undefined]);
    core.rooms.add(b.client, 'r');
    const host = core.adapterHost;
    host.applyRemote({ type: 'broadcast', frame: 'all', except: [c.client.id] });
    host.applyRemote({ type: 'broadcast', frame: 'room', rooms: ['r'] });
    host.applyRemote({ type: 'send', clientId: c.client.id, frame: 'to-c' });
    host.applyRemote({ type: 'send', clientId: 'other.x', frame: 'nowhere' });
    host.applyRemote({ type: 'user', userId: 'u1', frame: 'to-u1' });
    expect(await a.pair.frames(2)).toEqual(['all', 'to-u1']);
    expect(await b.pair.frames(2)).toEqual(['all', 'room']);
    expect(await c.pair.frames(1)).toEqual(['to-c']);
    await sleep(20);
    expect([a, b, c].map((p) => p.pair.received.length)).toEqual([2, 2, 1]);
    expect(core.adapter.published).toEqual([]);
  });

  it('disconnect: closes the client with the given code; a takeover keeps the resumed connection', async () => {
    const [a, b] = await setup([undefined, undefined]);
    const host = core.adapterHost;
    host.applyRemote({
      type: 'disconnect',
      clientId: `${core.instanceId}.unknown`,
      code: 4000,
      reason: 'x',
    });
    host.applyRemote({
      type: 'disconnect',
      clientId: a.client.id,
      code: 4409,
      reason: 'session resumed',
      keep: a.client.connectionId,
    });
    expect(a.client.removed).toBe(false);
    host.applyRemote({ type: 'disconnect', clientId: a.client.id, code: 4000, reason: 'kicked' });
    expect(await a.pair.closed).toEqual({ code: 4000, reason: 'kicked' });
    expect(left).toEqual([
      expect.objectContaining({
        clientId: a.client.id,
        code: 4000,
        reason: DisconnectReason.SERVER_DISCONNECT,
      }),
    ]);
    // another connection resumed b's session: b goes quietly (the app is not told it left)
    host.applyRemote({
      type: 'disconnect',
      clientId: b.client.id,
      code: 4409,
      reason: 'session resumed',
      keep: 'inst2.newer',
    });
    expect(await b.pair.closed).toEqual({ code: 4409, reason: 'session resumed' });
    expect(left).toHaveLength(1);
    expect(core.counters.closed.get(DisconnectReason.SESSION_RESUMED)).toBe(1);
  });

  it('disconnect-user and revoke-user close every connection of the user here', async () => {
    const [a, b, c] = await setup(['u1', 'u1', 'u2']);
    core.adapterHost.applyRemote({
      type: 'disconnect-user',
      userId: 'u1',
      code: 4001,
      reason: 'bye',
    });
    expect(await a.pair.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(await b.pair.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(c.client.removed).toBe(false);
    core.adapterHost.applyRemote({ type: 'revoke-user', userId: 'u2', reason: 'banned' });
    expect(await c.pair.closed).toEqual({ code: CloseCode.REVOKED, reason: 'banned' });
    expect(left.map((e) => e.reason)).toEqual([
      DisconnectReason.SERVER_DISCONNECT,
      DisconnectReason.SERVER_DISCONNECT,
      DisconnectReason.REVOKED,
    ]);
  });

  it('passes on a lost instance and a renewed subscription', async () => {
    await setup([]);
    const gone: string[] = [];
    core.events.instanceGone.subscribe((id) => gone.push(id));
    core.adapterHost.instanceGone('inst9');
    expect(gone).toEqual(['inst9']);

    let resubscribed = 0;
    const strategy = new (class extends PlainDelivery {
      resubscribed(): void {
        resubscribed++;
      }
    })(core.registry, core.delivery, core.link);
    new AdapterHost('i', core.registry, core.closer, strategy, core.events).resubscribed();
    expect(resubscribed).toBe(1);
    // a strategy without the hook: nothing to do
    expect(() => core.adapterHost.resubscribed()).not.toThrow();
  });
});
