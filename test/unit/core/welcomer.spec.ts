import { afterEach, describe, expect, it } from 'vitest';
import { HubEvents } from '../../../src/ws-hub/core/hub-events.js';
import { TokenExpiry } from '../../../src/ws-hub/core/token-expiry.js';
import { Welcomer } from '../../../src/ws-hub/core/welcomer.js';
import type { HubConnectedEvent } from '../../../src/ws-hub/interfaces/events.interface.js';
import { PROTOCOL_VERSION } from '../../../src/ws-hub/protocol/constants.js';
import { fakeConnection } from '../../helpers/core-parts.js';

const options = { pingIntervalMs: 25_000, maxPayloadBytes: 65_536, welcome: true };
let expiry: TokenExpiry | undefined;

afterEach(() => {
  expiry?.clear();
  expiry = undefined;
});

describe('Welcomer', () => {
  it('builds the welcome frame of a client', () => {
    const welcomer = new Welcomer(options, new HubEvents());
    const anon = fakeConnection({ id: 'i.a' });
    expect(JSON.parse(welcomer.frame(anon))).toEqual({
      event: 'welcome',
      data: {
        clientId: 'i.a',
        pingIntervalMs: 25_000,
        protocol: PROTOCOL_VERSION,
        maxPayloadBytes: 65_536,
      },
    });
    const user = fakeConnection({ id: 'i.u', userId: 'u1' });
    expect(JSON.parse(welcomer.frame(user)).data.userId).toBe('u1');
  });

  it('adds the extra data and answers a frame by its id', () => {
    const welcomer = new Welcomer(options, new HubEvents());
    const frame = JSON.parse(
      welcomer.frame(fakeConnection({ id: 'i.a' }), { resumed: true, clientId: 'i.old' }, 7),
    );
    expect(frame.id).toBe(7);
    expect(frame.data).toMatchObject({ resumed: true, clientId: 'i.old', protocol: 1 });
  });

  it("carries the token's expiry and watches it from the announcement on", () => {
    const now = 1_000_000;
    expiry = new TokenExpiry(
      60_000,
      () => undefined,
      () => undefined,
      () => now,
    );
    const events = new HubEvents();
    const welcomer = new Welcomer(options, events, expiry);
    const client = fakeConnection({
      id: 'i.a',
      principal: { userId: 'u1', expiresAt: now + 120_000 },
    });
    expect(JSON.parse(welcomer.frame(client)).data).toMatchObject({
      expiresAt: 1_120_000,
      expiresInMs: 120_000,
    });
    expect(expiry.size).toBe(0);
    welcomer.announce(client);
    expect(expiry.size).toBe(1);
  });

  it('announce emits connected$ with who connected, from where and when', () => {
    const events = new HubEvents();
    const seen: HubConnectedEvent[] = [];
    events.connected.subscribe((e) => seen.push(e));
    const welcomer = new Welcomer(options, events);
    const client = fakeConnection({ id: 'i.a', userId: 'u1', ip: '10.0.0.9' });
    welcomer.announce(client);
    expect(seen).toEqual([
      {
        clientId: 'i.a',
        userId: 'u1',
        principal: { userId: 'u1' },
        remoteAddress: '10.0.0.9',
        connectedAt: client.connectedAt,
      },
    ]);
  });

  it('enabled follows the welcome option', () => {
    expect(new Welcomer(options, new HubEvents()).enabled).toBe(true);
    expect(new Welcomer({ ...options, welcome: false }, new HubEvents()).enabled).toBe(false);
  });
});
