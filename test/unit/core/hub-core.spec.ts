import { describe, expect, it } from 'vitest';
import type { DeliveryStrategy } from '../../../src/ws-hub/core/delivery-strategy.js';
import { HubFrameDispatcher } from '../../../src/ws-hub/core/frame-dispatcher.js';
import { HubCore } from '../../../src/ws-hub/core/hub-core.js';
import { kConnection } from '../../../src/ws-hub/core/connection.js';
import type { HubMessageEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import type { WsHubModuleOptions } from '../../../src/ws-hub/interfaces/options.interface.js';
import { DisconnectReason, ErrorCode } from '../../../src/ws-hub/protocol/constants.js';
import { type CoreParts, useCoreParts } from '../../helpers/core-parts.js';

let parts: CoreParts | undefined;

const fixture = useCoreParts();

/** A `HubCore` over the parts, wired as `module/compose-hub.ts` does (`strategy`: another one). */
function setup(options: WsHubModuleOptions = {}, strategy?: DeliveryStrategy): HubCore {
  const p = (parts = fixture.build({ welcome: false, ...options }));
  const dispatcher = new HubFrameDispatcher(
    p.options,
    p.counters,
    {
      deliverText: (client, text) => p.delivery.text(client, text),
      closeClient: (client, code, reason, why) => p.closer.close(client, code, reason, why),
    },
    (strategy ?? p.strategy).routes,
  );
  return new HubCore({ ...p, strategy: strategy ?? p.strategy, dispatcher });
}

const info = { ip: undefined, principal: undefined };

describe('HubCore', () => {
  it('registers sockets and unregisters them on their close event', async () => {
    const core = setup();
    const pair = await fixture.pairs.connect();
    const client = core.register(pair.server, { ip: '10.0.0.1', principal: { userId: 'u1' } })!;
    expect(core.online).toBe(1);
    expect(core.userCount).toBe(1);
    expect(core.socketOf(client.id)).toBe(pair.server);
    expect(core.connectionsFromIp('10.0.0.1')).toBe(1);
    core.unregister(pair.server, 1000);
    expect(core.online).toBe(0);
    expect(core.counters.closed.get(DisconnectReason.CLIENT_CLOSED)).toBe(1);
    // a socket that never registered: nothing to do
    const other = await fixture.pairs.connect();
    expect(other.server[kConnection]).toBeUndefined();
    expect(() => core.unregister(other.server, 1006)).not.toThrow();
  });

  it('closes a socket accepted while draining with 1012, and while shutting down with 1001', async () => {
    const core = setup();
    const drained = core.drain();
    expect(core.draining).toBe(true);
    expect(core.drain()).toBe(drained); // once: the same promise
    expect(await drained).toEqual({ clients: 0, answered: 0, spreadMs: 0 });
    const late = await fixture.pairs.connect();
    expect(core.register(late.server, info)).toBeUndefined();
    expect(await late.closed).toEqual({ code: 1012, reason: 'server restarting' });

    const core2 = setup();
    core2.isShuttingDown = true;
    const later = await fixture.pairs.connect();
    expect(core2.register(later.server, info)).toBeUndefined();
    expect(await later.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(core2.online).toBe(0);
  });

  it('ack: messages$ first, then the ack reply (the one ack of every path; the reply carries the id)', async () => {
    const core = setup();
    const seen: HubMessageEvent[] = [];
    core.events.message.subscribe((m) => seen.push(m));
    const pair = await fixture.pairs.connect();
    const client = core.register(pair.server, info)!;
    expect(core.ack(client, { hi: 1 }, 4)).toEqual({ event: 'ack', data: { hi: 1 } });
    expect(seen).toEqual([
      { clientId: client.id, userId: undefined, event: 'message', data: { hi: 1 }, id: 4 },
    ]);
  });

  it('join and leave answer with the room; counts follow', async () => {
    const core = setup();
    const pair = await fixture.pairs.connect();
    const client = core.register(pair.server, info)!;
    expect(await core.join(client, 'r')).toEqual({ room: 'r' });
    expect(core.roomCount).toBe(1);
    expect(await core.leave(client, 'r')).toEqual({ room: 'r' });
    expect(core.roomCount).toBe(0);
  });

  it('undoes a join whose position cannot be read, and answers UNAVAILABLE', async () => {
    const base = fixture.build();
    const failing = Object.create(base.strategy) as DeliveryStrategy;
    failing.joinedPosition = async () => {
      throw new Error('store down');
    };
    base.dispose();
    const core = setup({}, failing);
    const pair = await fixture.pairs.connect();
    const client = core.register(pair.server, info)!;
    await expect(core.join(client, 'r')).rejects.toMatchObject({
      code: ErrorCode.UNAVAILABLE,
      message: 'could not join "r" now: store down; try again',
    });
    expect(client.rooms!.has('r')).toBe(false);
    expect(core.roomCount).toBe(0);
    expect(parts!.adapter.calls.filter((c) => c.startsWith('room'))).toEqual([
      'roomAdded r',
      'roomRemoved r',
    ]);
  });

  it('bufferedBytes adds up what the sockets hold', async () => {
    const core = setup();
    const pair = await fixture.pairs.connect();
    core.register(pair.server, info);
    expect(core.bufferedBytes()).toBe(0);
    expect(core.distributed).toBe(false);
  });
});
