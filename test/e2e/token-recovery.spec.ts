import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHubClient, type WsHubClient } from '../../src/ws-hub/client/index.js';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { HubApp } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { PROTOCOLS, type Recovering } from '../helpers/recovering-client.js';
import { RecoveringHubs } from '../helpers/recovering-hubs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Issue 21 with recovery, over real sockets: a connection closed for expiry (4440) resumes its
 * session without loss once it has a fresh token (the token and the credential are both
 * checked again), and revoked connections (4441) cannot resume; on one instance (history in
 * memory) and on two instances sharing a Redis (`revokeUser` reaches both; `ws-hub/client`
 * refreshing in-band on one instance gets every message published on the other).
 *
 * Tokens are `<user>.<expiresAt epoch ms>`; `bad` is refused.
 */
const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token }) => {
  if (!token || token === 'bad') return null;
  const [userId, at] = token.split('.');
  return at ? { userId, expiresAt: Number(at) } : { userId };
};
const mint = (user: string, ms: number) => `${user}.${Date.now() + ms}`;

const hubs = new RecoveringHubs();
const hubClients: WsHubClient[] = [];
afterEach(async () => {
  for (const c of hubClients.splice(0)) c.close();
  await hubs.close();
});

/** An app with recovery and these tokens. */
const start = (options: WsHubModuleOptions = {}) => hubs.hub({ authenticate, ...options });
const client = hubs.recovering;

/** Broadcasts `tick` 0, 1, 2... to `room` every 30 ms from `app`; the stop says how many. */
function ticking(app: HubApp, room: string): () => number {
  let n = 0;
  const timer = setInterval(() => app.hub.broadcast('tick', n++, { rooms: room }), 30);
  return () => {
    clearInterval(timer);
    return n;
  };
}

async function expectResumedWithoutLoss(r: Recovering, url: string, app: HubApp) {
  await r.join('r');
  const id = r.clientId;
  const stop = ticking(app, 'r');
  expect(await r.c.closed(4000)).toBe(4440);
  expect(r.c.closeReason).toBe('token expired');
  await sleep(150); // messages published while it is away
  const welcome = await r.connect(url, mint('ann', 60_000));
  expect(welcome.data.recovery.recovered).toBe(true);
  expect(welcome.data.clientId).toBe(id);
  expect(welcome.data.expiresInMs).toBeGreaterThan(50_000);
  await sleep(150);
  const sent = stop();
  await waitFor(() => r.got('tick').length === sent, 2000);
  expect(r.got('tick')).toEqual([...Array(sent).keys()]);
}

describe('token expiry and revocation with recovery (one instance)', () => {
  it('a connection closed for expiry resumes with a fresh token: same session, nothing lost', async () => {
    const app = await start({ tokenRefreshBeforeMs: 400 });
    const r = client();
    await r.connect(app.url, mint('ann', 800));
    await expectResumedWithoutLoss(r, app.url, app);
  });

  it('the resume checks the token again: expired is refused (4401), another user gets a new session', async () => {
    const app = await start();
    const r = client();
    await r.connect(app.url, mint('ann', 60_000));
    await r.join('r');
    const id = r.clientId;
    r.drop();
    const expired = await TestClient.connect(`${app.url}?token=${mint('ann', -1)}`, {
      protocols: PROTOCOLS,
    });
    expect(await expired.closed()).toBe(4401);
    const welcome = await r.connect(app.url, mint('bob', 60_000));
    expect(welcome.data.recovery.recovered).toBe(false);
    expect(welcome.data.clientId).not.toBe(id);
    expect(welcome.data.userId).toBe('bob');
  });

  it('revoked sessions (revokeUser, revoke) cannot be resumed', async () => {
    const app = await start();
    const ann = client();
    const bob = client();
    await ann.connect(app.url, mint('ann', 60_000));
    await bob.connect(app.url, mint('bob', 60_000));
    await ann.join('r');
    await bob.join('r');
    const ids = [ann.clientId, bob.clientId];
    expect(app.hub.revokeUser('ann')).toBe(1);
    expect(app.hub.revoke((p) => p.userId === 'bob', 'blocked')).toBe(1);
    expect(await ann.c.closed()).toBe(4441);
    expect(await bob.c.closed()).toBe(4441);
    expect(bob.c.closeReason).toBe('blocked');
    for (const [k, r] of [ann, bob].entries()) {
      const welcome = await r.connect(app.url, mint(k === 0 ? 'ann' : 'bob', 60_000));
      expect(welcome.data.recovery.recovered).toBe(false);
      expect(welcome.data.clientId).not.toBe(ids[k]);
    }
  });
});

describe('token expiry and revocation on two instances with Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });

  async function pair(options: WsHubModuleOptions = {}) {
    const redisOptions = {
      url: redis.url,
      keyPrefix: `tokens-${randomBytes(4).toString('hex')}`,
    };
    return [
      await start({ redis: redisOptions, ...options }),
      await start({ redis: redisOptions, ...options }),
    ];
  }

  it('revokeUser on one instance closes the user on both (4441), sessions not resumable anywhere', async () => {
    const [a, b] = await pair();
    const onA = client();
    const onB = client();
    const other = client();
    await onA.connect(a.url, mint('ann', 60_000));
    await onB.connect(b.url, mint('ann', 60_000));
    await other.connect(b.url, mint('bob', 60_000));
    await onB.join('r');
    const idB = onB.clientId;
    expect(a.hub.revokeUser('ann', 'logged out')).toBe(1);
    expect(await onA.c.closed()).toBe(4441);
    expect(await onB.c.closed()).toBe(4441);
    expect(onB.c.closeReason).toBe('logged out');
    await sleep(100);
    expect(other.c.closeCode).toBeUndefined();
    // B's session, presented on A and on B: a new session each time.
    for (const app of [a, b]) {
      const welcome = await onB.connect(app.url, mint('ann', 60_000));
      expect(welcome.data.recovery.recovered).toBe(false);
      expect(welcome.data.clientId).not.toBe(idB);
      onB.drop();
      onB.session = undefined;
    }
  });

  it('ws-hub/client on one instance refreshes in-band, keeps its one connection and every message from the other', async () => {
    const [a, b] = await pair({ tokenRefreshBeforeMs: 600 });
    let calls = 0;
    const c = createHubClient(b.url, {
      WebSocket,
      getToken: () => (calls++, mint('ann', 1200)),
    });
    hubClients.push(c);
    const opens: string[] = [];
    c.onState((s) => s.state === 'open' && opens.push(s.welcome.clientId));
    const refreshed: boolean[] = [];
    c.onTokenRefresh((r) => refreshed.push(r.ok));
    const ticks: number[] = [];
    c.on('tick', (n: number) => ticks.push(n));
    await c.ready();
    await c.join('r');
    const stop = ticking(a, 'r');
    await sleep(3000);
    const sent = stop();
    await waitFor(() => ticks.length === sent, 2000);
    expect(ticks).toEqual([...Array(sent).keys()]);
    expect(opens).toHaveLength(1);
    expect(refreshed.length).toBeGreaterThanOrEqual(3);
    expect(refreshed.every(Boolean)).toBe(true);
    expect(calls).toBe(1 + refreshed.length);
  });

  it('a connection closed for expiry on one instance resumes on the other without loss', async () => {
    const [a, b] = await pair({ tokenRefreshBeforeMs: 400 });
    const r = client();
    await r.connect(a.url, mint('ann', 1000));
    await expectResumedWithoutLoss(r, b.url, a);
  });
});
