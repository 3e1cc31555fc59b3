import { Subscription } from 'rxjs';
import { beforeEach, describe, expect, it } from 'vitest';
import { reasonFor } from '../../../src/ws-hub/core/closer.js';
import type { ClientReceiver, Connection } from '../../../src/ws-hub/core/connection.js';
import type { HubDisconnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import { CloseCode, DisconnectReason } from '../../../src/ws-hub/protocol/constants.js';
import { waitFor } from '../../helpers/client.js';
import { captureLogs } from '../../helpers/logs.js';
import { fakeConnection, type CoreParts, useCoreParts } from '../../helpers/core-parts.js';
import { type WsPair } from '../../helpers/ws-pairs.js';

let core: CoreParts;
let left: HubDisconnectedEvent[];

const fixture = useCoreParts();

function setup(): void {
  core = fixture.build({ welcome: false });
  left = [];
  core.events.disconnected.subscribe((e) => left.push(e));
}

/** A registered client on a real connection. */
async function connect(userId?: string): Promise<{ client: Connection; pair: WsPair }> {
  const pair = await fixture.pairs.connect();
  const client = core.registrar.register(pair.server, {
    ip: '127.0.0.1',
    principal: userId === undefined ? undefined : { userId },
  });
  return { client, pair };
}

describe('Closer', () => {
  beforeEach(setup);

  it('close: a close frame with the code and reason, and the client unregistered at once', async () => {
    const { client, pair } = await connect('u1');
    core.rooms.add(client, 'r');
    core.adapter.calls.length = 0;

    core.closer.close(client, 4000, 'bye', 'app-reason');
    // unregistered before the peer answered
    expect(client.removed).toBe(true);
    expect(client.closeReason).toBe('app-reason');
    expect(core.registry.size).toBe(0);
    expect(core.registry.ofUser('u1')).toBeUndefined();
    expect(core.rooms.count).toBe(0);
    expect(core.heartbeat.running).toBe(false);
    expect(core.adapter.calls).toEqual([
      'roomRemoved r',
      'userRemoved u1',
      `clientRemoved ${client.id}`,
    ]);
    expect(left).toEqual([{ clientId: client.id, userId: 'u1', code: 4000, reason: 'app-reason' }]);
    expect(core.counters.closed.get('other')).toBe(1); // an app's own reason

    expect(await pair.closed).toEqual({ code: 4000, reason: 'bye' });
    // closing again (or the socket's own close event) changes nothing
    core.closer.close(client, 4001, 'again', 'again');
    core.closer.closed(client, 4000);
    expect(left).toHaveLength(1);
  });

  it('truncates a close reason to what fits a close frame', async () => {
    const { client, pair } = await connect();
    core.closer.close(client, 4000, 'x'.repeat(500), DisconnectReason.SERVER_DISCONNECT);
    const { reason } = await pair.closed;
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason.startsWith('xxx')).toBe(true);
    expect(core.counters.closed.get(DisconnectReason.SERVER_DISCONNECT)).toBe(1);
  });

  it("ends the client's handler subscriptions and tells its receiver", async () => {
    const { client } = await connect();
    const sub = new Subscription();
    client.subscriptions = new Set([sub]);
    const removed: Connection[] = [];
    client.receiver = { removed: (c: Connection) => removed.push(c) } as unknown as ClientReceiver;
    core.closer.close(client, CloseCode.NORMAL, '', DisconnectReason.SERVER_DISCONNECT);
    expect(sub.closed).toBe(true);
    expect(client.subscriptions).toBeUndefined();
    expect(removed).toEqual([client]);
  });

  it('cuts a peer that does not answer the close after the grace period', async () => {
    const { client, pair } = await connect();
    const serverClosed = new Promise<number>((resolve) => pair.server.once('close', resolve));
    // the client reads nothing: it never answers the close frame
    (pair.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const start = performance.now();
    core.closer.close(client, 4000, 'bye', 'x', 150);
    expect(await serverClosed).toBe(1006);
    const took = performance.now() - start;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000); // not ws's 30 s close timeout
  });

  it('a close code ws refuses cuts the connection instead', async () => {
    const { client, pair } = await connect();
    const logs = captureLogs(/with 1005 failed/);
    core.closer.close(client, 1005, 'reserved code', 'x'); // 1005 may not be sent
    expect(logs.warnings()).toEqual([
      `closing client ${client.id} with 1005 failed: First argument must be a valid error code number`,
    ]);
    expect(client.removed).toBe(true);
    expect((await pair.closed).code).toBe(1006);
    expect(left.map((e) => e.code)).toEqual([1005]);
  });

  it('a resumed session is unregistered and counted, but the app is not told it left', async () => {
    const { client, pair } = await connect('u1');
    core.closer.close(client, 4409, 'session resumed', DisconnectReason.SESSION_RESUMED);
    expect(core.registry.size).toBe(0);
    expect(core.counters.closed.get(DisconnectReason.SESSION_RESUMED)).toBe(1);
    expect(left).toEqual([]);
    expect((await pair.closed).code).toBe(4409);
  });

  it('closeUser closes every connection of a user here; closeWhere those a test picks', async () => {
    const a = await connect('u1');
    const b = await connect('u1');
    const c = await connect('u2');
    const d = await connect();
    expect(core.closer.closeUser('u1', 4000, 'user gone')).toBe(2);
    expect(core.closer.closeUser('nobody', 4000, 'x')).toBe(0);
    expect((await a.pair.closed).code).toBe(4000);
    expect((await b.pair.closed).code).toBe(4000);
    expect(left.map((e) => [e.clientId, e.reason])).toEqual([
      [a.client.id, DisconnectReason.SERVER_DISCONNECT],
      [b.client.id, DisconnectReason.SERVER_DISCONNECT],
    ]);
    expect(core.adapter.calls.filter((x) => x.startsWith('userRemoved'))).toEqual([
      'userRemoved u1',
    ]);

    expect(core.closer.closeWhere((x) => x.userId === undefined, 4001, 'anon', 'anonymous')).toBe(
      1,
    );
    expect((await d.pair.closed).code).toBe(4001);
    expect(core.registry.list).toEqual([c.client]);
  });

  it('evict: cut without a close handshake, counted as a heartbeat timeout', async () => {
    const { client, pair } = await connect('u1');
    core.closer.evict(client);
    expect(core.counters.evictions).toBe(1);
    expect(core.counters.closed.get(DisconnectReason.HEARTBEAT_TIMEOUT)).toBe(1);
    expect(client.closeReason).toBe(DisconnectReason.HEARTBEAT_TIMEOUT);
    expect(core.registry.size).toBe(0);
    expect(left).toEqual([
      {
        clientId: client.id,
        userId: 'u1',
        code: CloseCode.ABNORMAL,
        reason: DisconnectReason.HEARTBEAT_TIMEOUT,
      },
    ]);
    expect((await pair.closed).code).toBe(1006);
  });

  it('closed: a close the peer started unregisters the client with its code', async () => {
    const { client, pair } = await connect();
    pair.server.once('close', (code: number) => core.closer.closed(client, code));
    pair.client.close(4100, 'leaving');
    await waitFor(() => left.length === 1);
    expect(left[0]).toMatchObject({ code: 4100, reason: DisconnectReason.CLIENT_CLOSED });
    expect(core.registry.size).toBe(0);
  });

  it('closed: a lost connection, or the code the server recorded when ws cannot tell', async () => {
    const lost = await connect();
    lost.pair.server.once('close', (code: number) => core.closer.closed(lost.client, code));
    lost.pair.client.terminate();
    await waitFor(() => left.length === 1);
    expect(left[0]).toMatchObject({ code: 1006, reason: DisconnectReason.CONNECTION_LOST });

    const other = fakeConnection();
    core.registry.add(other);
    other.closeCode = CloseCode.PROTOCOL_ERROR;
    other.closeReason = DisconnectReason.PROTOCOL_ERROR;
    core.closer.closed(other, 1006);
    expect(left[1]).toMatchObject({ code: 1002, reason: DisconnectReason.PROTOCOL_ERROR });
  });

  it('drain: 1001 to everyone, and how many answered', async () => {
    const a = await connect();
    const b = await connect();
    const result = await core.closer.drain(1000);
    expect(result).toEqual({ clients: 2, answered: 2 });
    expect((await a.pair.closed).code).toBe(CloseCode.GOING_AWAY);
    expect((await b.pair.closed).code).toBe(CloseCode.GOING_AWAY);
    expect(left.map((e) => e.reason)).toEqual([
      DisconnectReason.SERVER_SHUTDOWN,
      DisconnectReason.SERVER_SHUTDOWN,
    ]);
    expect(core.registry.size).toBe(0);
    expect(await core.closer.drain(1000)).toEqual({ clients: 0, answered: 0 });
  });

  it('drain: a peer that does not answer is cut after the timeout', async () => {
    const a = await connect();
    (a.pair.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const start = performance.now();
    const result = await core.closer.drain(150);
    // the grace timer cut it within the timeout
    expect(result.clients).toBe(1);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(a.pair.server.readyState).toBe(a.pair.server.CLOSED);
  });
});

describe('reasonFor', () => {
  it('names why a client left when the server did not decide it', () => {
    const c = fakeConnection();
    expect(reasonFor(c, 1000)).toBe(DisconnectReason.CLIENT_CLOSED);
    expect(reasonFor(c, 4999)).toBe(DisconnectReason.CLIENT_CLOSED);
    expect(reasonFor(c, 1006)).toBe(DisconnectReason.CONNECTION_LOST);
    expect(reasonFor(c, undefined)).toBe(DisconnectReason.CONNECTION_LOST);
    expect(reasonFor(c, 1009)).toBe(DisconnectReason.PAYLOAD_TOO_LARGE);
    c.closeReason = 'rate-limited';
    expect(reasonFor(c, 1000)).toBe('rate-limited');
  });
});
