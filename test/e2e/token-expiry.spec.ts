import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import {
  WsHubModule,
  type HubDisconnectedEvent,
  type WsHubModuleOptions,
} from '../../src/ws-hub/index.js';
import { closeAfterEach, startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * Issue 21, server side, one instance, over real sockets: a token's expiry in the welcome,
 * `expiring` before it, the in-band `refresh` (kept connection, rooms and messages), refusals
 * (`TOKEN_REFUSED`, `TOKEN_USER_MISMATCH`), the 4440 close at expiry, and revocation (4441).
 *
 * Tokens here are `<user>:<expiresAt epoch ms>` (or `<user>` alone: no expiry); `bad` is refused
 * and `throw` makes `authenticate` throw.
 */
const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token }) => {
  if (token === 'throw') throw new Error('token store down');
  if (!token || token === 'bad') return null;
  const [userId, at, role] = token.split(':');
  return at ? { userId, expiresAt: Number(at), role } : { userId };
};

/** A token for `user` that expires `ms` from now. */
const token = (user: string, ms: number, role = '') => `${user}:${Date.now() + ms}:${role}`;

let hub: HubApp | undefined;
const clients = closeAfterEach(
  () => hub,
  () => (hub = undefined),
);

async function start(options: WsHubModuleOptions = {}) {
  hub = await startHub({ authenticate, rateLimit: false, ...options });
  return hub;
}

async function connect(t: string) {
  const c = await TestClient.welcomed(hub!.url, { headers: { authorization: `Bearer ${t}` } });
  clients.push(c);
  return c;
}

describe('token expiry (one instance)', () => {
  it('the welcome carries the expiry; without one nothing changes', async () => {
    await start();
    const before = Date.now();
    const c = await connect(token('ann', 30_000));
    const welcome = c.frames[0].data;
    expect(welcome.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(welcome.expiresInMs).toBeGreaterThan(29_000);
    expect(welcome.expiresInMs).toBeLessThanOrEqual(30_000);
    const plain = await connect('bob');
    expect(plain.frames[0].data).not.toHaveProperty('expiresAt');
    expect(plain.frames[0].data).not.toHaveProperty('expiresInMs');
    // A connection whose token does not expire has nothing to refresh.
    const reply = await plain.request({ event: 'refresh', id: 1, data: { token: 'bob' } });
    expect(reply).toMatchObject({ event: 'error', id: 1, data: { code: 'BAD_REQUEST' } });
  });

  it('a token expired at the handshake is refused like a wrong one (HTTP 401)', async () => {
    await start();
    await expect(
      TestClient.connect(hub!.url, { headers: { authorization: `Bearer ${token('ann', -1)}` } }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('expiring comes tokenRefreshBeforeMs early; refresh keeps the connection, its rooms and every message', async () => {
    await start({ tokenRefreshBeforeMs: 600 });
    hub!.hub.handle('whoami', ({ principal }) => principal);
    const c = await connect(token('ann', 1500));
    const expiresAt = c.frames[0].data.expiresAt as number;
    expect((await c.request({ event: 'join', id: 'j', data: { room: 'r' } })).event).toBe('joined');
    // A message to the room every 40 ms, across the refresh and past the first expiry.
    let sent = 0;
    const timer = setInterval(() => hub!.hub.broadcast('tick', sent++, { rooms: 'r' }), 40);
    try {
      const expiring = await c.next((f) => f.event === 'expiring', 3000);
      const askedAt = Date.now();
      expect(expiring.id).toBeUndefined();
      expect(expiring.data.expiresAt).toBe(expiresAt);
      // Asked 600 to 750 ms early (spread at random; the Deadlines timer fires up to 250 ms
      // late, never early).
      expect(askedAt).toBeGreaterThanOrEqual(expiresAt - 750);
      expect(askedAt).toBeLessThan(expiresAt - 600 + 400);
      const next = Date.now() + 60_000;
      const reply = await c.request({
        event: 'refresh',
        id: 7,
        data: { token: `ann:${next}:admin` },
      });
      expect(reply).toMatchObject({ event: 'refreshed', id: 7, data: { expiresAt: next } });
      expect(reply.data.expiresInMs).toBeGreaterThan(59_000);
      expect(hub!.hub.client(c.frames[0].data.clientId)?.expiresAt).toBe(next);
      // Handlers see the new principal (its claims too).
      const who = await c.request({ event: 'whoami', id: 8 });
      expect(who.data).toEqual({ userId: 'ann', expiresAt: next, role: 'admin' });
      await sleep(Math.max(0, expiresAt - Date.now()) + 600);
    } finally {
      clearInterval(timer);
    }
    expect(c.closeCode).toBeUndefined();
    expect(hub!.hub.roomsOf(c.frames[0].data.clientId)).toEqual(['r']);
    await sleep(100);
    const ticks = c.events('tick').map((f) => f.data);
    expect(ticks).toEqual([...Array(sent).keys()]);
    expect(ticks.length).toBeGreaterThan(40);
  });

  it('without a refresh the connection closes with 4440 "token expired" at expiry (within 500 ms)', async () => {
    await start({ tokenRefreshBeforeMs: 300 });
    const gone: HubDisconnectedEvent[] = [];
    hub!.hub.disconnected$.subscribe((e) => gone.push(e));
    const c = await connect(token('ann', 900));
    const expiresAt = c.frames[0].data.expiresAt as number;
    await c.next((f) => f.event === 'expiring', 2000);
    expect(await c.closed(3000)).toBe(4440);
    const closedAt = Date.now();
    expect(c.closeReason).toBe('token expired');
    expect(closedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(closedAt - expiresAt).toBeLessThan(500);
    expect(gone).toMatchObject([{ code: 4440, reason: 'token-expired', userId: 'ann' }]);
  });

  it('a token shorter than tokenRefreshBeforeMs is asked for at about half its lifetime, not at once', async () => {
    await start(); // 60 s before
    const c = await connect(token('ann', 1200));
    const expiring = await c.next((f) => f.event === 'expiring', 2000);
    // at half the lifetime, up to a quarter of that earlier (600-750 ms left), 250 ms late at most
    expect(expiring.data.expiresInMs).toBeLessThanOrEqual(760);
    expect(expiring.data.expiresInMs).toBeGreaterThan(300);
    expect(c.events('expiring')).toHaveLength(1);
  });

  it('refusals: TOKEN_REFUSED (refused, expired), TOKEN_USER_MISMATCH, BAD_REQUEST; INTERNAL when authenticate throws; the connection stays', async () => {
    const logs = captureLogs(/authenticate failed on a token refresh/);
    await start();
    const c = await connect(token('ann', 30_000));
    const ask = (id: number, data: unknown) => c.request({ event: 'refresh', id, data });
    expect(await ask(1, { token: 'bad' })).toMatchObject({
      event: 'error',
      id: 1,
      data: { code: 'TOKEN_REFUSED' },
    });
    expect((await ask(2, { token: token('ann', -1000) })).data.code).toBe('TOKEN_REFUSED');
    expect(await ask(3, { token: token('bob', 30_000) })).toMatchObject({
      event: 'error',
      id: 3,
      data: { code: 'TOKEN_USER_MISMATCH' },
    });
    expect((await ask(4, {})).data.code).toBe('BAD_REQUEST');
    expect((await ask(5, { token: 'throw' })).data).toEqual({
      code: 'INTERNAL',
      message: 'the token could not be checked',
    });
    expect(logs.errors()).toHaveLength(1);
    expect(logs.errors()[0]).toContain('token store down');
    // Nothing changed: same user, same expiry, still open.
    const info = hub!.hub.client(c.frames[0].data.clientId)!;
    expect(info.userId).toBe('ann');
    expect(c.closeCode).toBeUndefined();
    expect((await ask(6, { token: token('ann', 40_000) })).event).toBe('refreshed');
  });

  it('revokeUser closes every connection of the user with 4441; revoke picks by principal', async () => {
    await start();
    const gone: HubDisconnectedEvent[] = [];
    hub!.hub.disconnected$.subscribe((e) => gone.push(e));
    const a1 = await connect(token('ann', 30_000));
    const a2 = await connect('ann');
    const b = await connect(token('bob', 30_000, 'admin'));
    const c = await connect(token('cat', 30_000, 'user'));
    expect(hub!.hub.revokeUser('ann', 'logged out')).toBe(2);
    expect(await a1.closed()).toBe(4441);
    expect(await a2.closed()).toBe(4441);
    expect(a1.closeReason).toBe('logged out');
    expect(hub!.hub.revoke((p) => p.role === 'admin')).toBe(1);
    expect(await b.closed()).toBe(4441);
    expect(b.closeReason).toBe('revoked');
    await sleep(50);
    expect(c.closeCode).toBeUndefined();
    expect(gone.map((e) => [e.userId, e.code, e.reason])).toEqual([
      ['ann', 4441, 'revoked'],
      ['ann', 4441, 'revoked'],
      ['bob', 4441, 'revoked'],
    ]);
    expect(hub!.hub.online).toBe(1);
  });

  it('refresh goes through Nest global interceptors like the other built-in events', async () => {
    const seen: string[] = [];
    const ref = await Test.createTestingModule({
      imports: [WsHubModule.forRoot({ authenticate, rateLimit: false })],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    app.useGlobalInterceptors({
      intercept(ctx: ExecutionContext, next: CallHandler) {
        seen.push(ctx.switchToWs().getPattern());
        return next.handle();
      },
    });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const c = await TestClient.welcomed(`ws://127.0.0.1:${port}/ws`, {
      headers: { authorization: `Bearer ${token('ann', 30_000)}` },
    });
    try {
      const next = Date.now() + 60_000;
      expect(
        await c.request({ event: 'refresh', id: 1, data: { token: `ann:${next}` } }),
      ).toMatchObject({ event: 'refreshed', id: 1, data: { expiresAt: next } });
      expect(
        await c.request({ event: 'refresh', id: 2, data: { token: token('bob', 1000) } }),
      ).toMatchObject({ event: 'error', id: 2, data: { code: 'TOKEN_USER_MISMATCH' } });
      expect(seen).toEqual(['refresh', 'refresh']);
    } finally {
      c.terminate();
      await app.close();
    }
  });
});
