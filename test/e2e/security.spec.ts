import { Injectable, Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  WsHubModule,
  type HubAuthenticator,
  type HubDisconnectedEvent,
  type HubHandshakeContext,
} from '../../src/ws-hub/index.js';
import { startApp, startHub, type HubApp, closeAfterEach } from '../helpers/app.js';
import { sleep, TestClient, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

const TOKENS: Record<string, string> = { 'tok-alice': 'alice', 'tok-bob': 'bob' };
const authenticate = (_req: unknown, ctx: HubHandshakeContext) => {
  const userId = ctx.token ? TOKENS[ctx.token] : undefined;
  return userId ? { userId, via: ctx.tokenSource } : null;
};

/** Opens a connection and resolves with the HTTP status of a refused handshake (or 101). */
async function handshakeStatus(
  url: string,
  options: Record<string, unknown> = {},
): Promise<number> {
  const c = TestClient.open(url, options);
  try {
    await c.opened;
    c.terminate();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

describe('handshake authentication', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('answers 401 without a token or with a wrong one, through each carrier', async () => {
    // 'http': a bare 401 whatever the client offers ('auto' closes ws-hub.v1 clients with 4401).
    h = await startHub({ authenticate, authFailure: 'http' });
    expect(await handshakeStatus(h.url)).toBe(401);
    expect(await handshakeStatus(h.url, { headers: { authorization: 'Bearer nope' } })).toBe(401);
    expect(await handshakeStatus(h.url, { headers: { authorization: 'Basic dG9rLWFsaWNl' } })).toBe(
      401,
    );
    expect(await handshakeStatus(h.url, { protocols: ['ws-hub.v1', 'bearer.nope'] })).toBe(401);
    expect(await handshakeStatus(`${h.url}?token=nope`)).toBe(401);
    expect(h.hub.online).toBe(0);
    expect(h.hub.stats().rejectedHandshakes['401']).toBe(5);
  });

  it('accepts a valid token through each carrier and attaches the principal', async () => {
    h = await startHub({ authenticate });
    const byHeader = await TestClient.welcomed(h.url, {
      headers: { authorization: 'Bearer tok-alice' },
    });
    const bySubprotocol = await TestClient.welcomed(h.url, {
      protocols: ['ws-hub.v1', 'bearer.tok-bob'],
    });
    const byQuery = await TestClient.welcomed(`${h.url}?token=tok-alice`);
    clients.push(byHeader, bySubprotocol, byQuery);
    // browsers need one of their offered subprotocols echoed; the token one is not echoed
    expect(bySubprotocol.ws.protocol).toBe('ws-hub.v1');
    expect(byHeader.frames[0].data.userId).toBe('alice');
    expect(bySubprotocol.frames[0].data.userId).toBe('bob');
    expect(byQuery.frames[0].data.userId).toBe('alice');
    const infos = h.hub.clients();
    expect(infos.find((c) => c.id === bySubprotocol.id)?.userId).toBe('bob');
    expect(h.hub.connectionsOf('alice').sort()).toEqual([byHeader.id, byQuery.id].sort());
  });

  it('prefers the Authorization header over the subprotocol and the query', async () => {
    const seen: string[] = [];
    h = await startHub({
      authenticate: (_r, ctx) => {
        seen.push(`${ctx.tokenSource}:${ctx.token}`);
        return authenticate(_r, ctx);
      },
    });
    const c = await TestClient.welcomed(`${h.url}?token=tok-bob`, {
      headers: { authorization: 'Bearer tok-alice' },
      protocols: ['ws-hub.v1', 'bearer.tok-bob'],
    });
    clients.push(c);
    expect(seen).toEqual(['authorization:tok-alice']);
    expect(c.frames[0].data.userId).toBe('alice');
  });

  it('answers 500 when authenticate throws, and keeps serving', async () => {
    const logs = captureLogs(/authenticate failed/);
    h = await startHub({
      authenticate: async (_r, ctx) => {
        if (ctx.token === 'explode') throw new Error('auth backend down');
        return authenticate(_r, ctx);
      },
    });
    expect(await handshakeStatus(`${h.url}?token=explode`)).toBe(500);
    expect(logs.errors()).toEqual(['authenticate failed: auth backend down']);
    const ok = await TestClient.welcomed(`${h.url}?token=tok-alice`);
    clients.push(ok);
    expect(ok.frames[0].data.userId).toBe('alice');
  });

  it('uses an injectable authenticator class given through forRootAsync', async () => {
    @Injectable()
    class TokenStore {
      lookup(token: string | undefined) {
        return token === 'db-token' ? 'carol' : undefined;
      }
    }
    @Injectable()
    class StoreAuthenticator implements HubAuthenticator {
      constructor(private readonly store: TokenStore) {}
      authenticate(_req: unknown, ctx: HubHandshakeContext) {
        const userId = this.store.lookup(ctx.token);
        return userId ? { userId, role: 'admin' } : null;
      }
    }
    Reflect.defineMetadata('design:paramtypes', [TokenStore], StoreAuthenticator);
    @Module({
      providers: [TokenStore, StoreAuthenticator],
      exports: [TokenStore, StoreAuthenticator],
    })
    class AuthModule {}
    h = await startApp(
      WsHubModule.forRootAsync({
        imports: [AuthModule],
        useFactory: () => ({ authenticate: StoreAuthenticator }),
      }),
      '/ws',
      [AuthModule as never],
    );
    expect(await handshakeStatus(`${h.url}?token=wrong`)).toBe(401);
    const c = await TestClient.welcomed(`${h.url}?token=db-token`);
    clients.push(c);
    expect(c.frames[0].data.userId).toBe('carol');
  });

  it('never logs tokens or query strings', async () => {
    // Every level is captured, debug included, from every Nest logger.
    const logs = captureLogs(/authenticate failed/);
    h = await startHub({
      authenticate: (_r, ctx) => {
        if (ctx.token === 'secret-explode-123') throw new Error('backend down');
        return authenticate(_r, ctx);
      },
    });
    await handshakeStatus(`${h.url}?token=secret-wrong-456&other=secret-query-789`);
    await handshakeStatus(`${h.url}?token=secret-explode-123`);
    await handshakeStatus(h.url, { headers: { authorization: 'Bearer secret-header-000' } });
    const c = await TestClient.welcomed(`${h.url}?token=tok-alice`);
    c.send('garbage');
    await c.next((f) => f.event === 'error');
    c.terminate();
    await sleep(50);
    logs.restore();
    expect(logs.errors()).toEqual(['authenticate failed: backend down']);
    // the refused handshakes were logged (at debug level), without what they carried
    expect(logs.messages('debug').some((l) => l.includes('handshake refused'))).toBe(true);
    const lines = logs.entries.map((e) => `${e.context} ${e.message}`);
    for (const secret of [
      'secret-wrong',
      'secret-explode',
      'secret-query',
      'secret-header',
      'tok-alice',
      '?token=',
    ]) {
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
    }
  });
});

describe('origins and connection limits', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('answers 403 for a foreign origin and lets listed ones in', async () => {
    h = await startHub({ allowedOrigins: ['https://app.example.com'] });
    expect(await handshakeStatus(h.url, { origin: 'https://evil.example.com' })).toBe(403);
    expect(await handshakeStatus(h.url, { origin: 'https://app.example.com' })).toBe(101);
    // no Origin header: a non-browser client, allowed by default
    expect(await handshakeStatus(h.url)).toBe(101);
  });

  it('refuses handshakes without Origin when allowMissingOrigin is false', async () => {
    h = await startHub({ allowedOrigins: ['https://app.example.com'], allowMissingOrigin: false });
    expect(await handshakeStatus(h.url)).toBe(403);
    expect(await handshakeStatus(h.url, { origin: 'https://app.example.com' })).toBe(101);
  });

  it('answers 503 past maxConnections and accepts again once a slot frees', async () => {
    h = await startHub({ maxConnections: 3 });
    const open = await Promise.all([1, 2, 3].map(() => TestClient.welcomed(h!.url)));
    clients.push(...open);
    const refused = TestClient.open(h.url);
    await expect(refused.opened).rejects.toMatchObject({ status: 503 });
    expect(h.hub.online).toBe(3);
    await open[0].close();
    await waitFor(() => h!.hub.online === 2);
    const again = await TestClient.welcomed(h.url);
    clients.push(again);
    expect(h.hub.online).toBe(3);
  });

  it('answers 429 past maxConnectionsPerIp, per address', async () => {
    h = await startHub({ maxConnectionsPerIp: 2 });
    const a = await TestClient.welcomed(h.url);
    const b = await TestClient.welcomed(h.url);
    clients.push(a, b);
    expect(await handshakeStatus(h.url)).toBe(429);
    // another loopback address is another IP
    const other = await TestClient.welcomed(h.url, { localAddress: '127.0.0.2' });
    clients.push(other);
    expect(h.hub.clients().find((c) => c.id === other.id)?.remoteAddress).toBe('127.0.0.2');
    await a.close();
    await waitFor(() => h!.hub.online === 2);
    clients.push(await TestClient.welcomed(h.url));
  });

  it('counts handshakes still authenticating against the limits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = await startHub({
      maxConnections: 2,
      authenticate: async () => {
        await gate;
        return { userId: 'u' };
      },
    });
    const first = TestClient.open(h.url);
    const second = TestClient.open(h.url);
    clients.push(first, second);
    await sleep(50);
    expect(await handshakeStatus(h.url)).toBe(503);
    release();
    await Promise.all([first.opened, second.opened]);
    expect(h.hub.online).toBe(2);
  });
});

describe('frame limits', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('answers RATE_LIMITED past the bucket, then closes with 1008 when the client keeps going', async () => {
    h = await startHub({ rateLimit: { messagesPerSecond: 5, burst: 5, maxViolations: 10 } });
    const events: HubDisconnectedEvent[] = [];
    h.hub.disconnected$.subscribe((e) => events.push(e));
    const flood = await TestClient.welcomed(h.url);
    const calm = await TestClient.welcomed(h.url);
    clients.push(flood, calm);
    for (let i = 0; i < 8; i++) flood.send({ event: 'message', id: i, data: i });
    await waitFor(() => flood.events('error').length === 3);
    expect(flood.events('ack').map((f) => f.id)).toEqual([0, 1, 2, 3, 4]);
    expect(flood.events('error').every((f) => f.data.code === 'RATE_LIMITED')).toBe(true);
    // staying over the limit: closed with 1008
    for (let i = 0; i < 20; i++) flood.send({ event: 'message', id: 100 + i });
    expect(await flood.closed()).toBe(1008);
    expect(events.find((e) => e.clientId === flood.id)).toMatchObject({
      code: 1008,
      reason: 'rate-limited',
    });
    expect(await calm.request({ event: 'message', id: 'c', data: 1 })).toMatchObject({
      event: 'ack',
    });
  });

  it('refills the bucket over time', async () => {
    h = await startHub({ rateLimit: { messagesPerSecond: 20, burst: 2 } });
    const c = await TestClient.welcomed(h.url);
    clients.push(c);
    for (let i = 0; i < 6; i++) {
      expect(await c.request({ event: 'message', id: i })).toMatchObject({ event: 'ack' });
      await sleep(60);
    }
  });

  it('closes with 1008 after too many invalid frames', async () => {
    h = await startHub({ maxInvalidFrames: 5 });
    const bad = await TestClient.welcomed(h.url);
    const good = await TestClient.welcomed(h.url);
    clients.push(bad, good);
    for (let i = 0; i < 5; i++) bad.send(i % 2 ? 'nope' : '{"event":"who-knows"}');
    await waitFor(() => bad.events('error').length === 5);
    bad.send('one too many');
    expect(await bad.closed()).toBe(1008);
    expect(bad.closeReason).toBe('too many invalid frames');
    expect(await good.request({ event: 'message', id: 1 })).toMatchObject({ event: 'ack' });
  });
});

describe('users', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('sendToUser reaches every connection of that user and nobody else; disconnectUser closes them', async () => {
    h = await startHub({ authenticate });
    const alice1 = await TestClient.welcomed(`${h.url}?token=tok-alice`);
    const alice2 = await TestClient.welcomed(h.url, {
      headers: { authorization: 'Bearer tok-alice' },
    });
    const bob = await TestClient.welcomed(`${h.url}?token=tok-bob`);
    clients.push(alice1, alice2, bob);
    expect(h.hub.sendToUser('alice', 'dm', { text: 'hi' })).toBe(2);
    for (const c of [alice1, alice2])
      expect(await c.next((f) => f.event === 'dm')).toEqual({ event: 'dm', data: { text: 'hi' } });
    expect(h.hub.sendToUser('nobody', 'dm', 1)).toBe(0);
    await sleep(50);
    expect(bob.events('dm')).toHaveLength(0);

    expect(h.hub.disconnectUser('alice', 4003, 'banned')).toBe(2);
    expect(await alice1.closed()).toBe(4003);
    expect(await alice2.closed()).toBe(4003);
    expect(h.hub.connectionsOf('alice')).toEqual([]);
    expect(h.hub.online).toBe(1);
    expect(await bob.request({ event: 'message', id: 1 })).toMatchObject({ event: 'ack' });
  });
});

describe('room authorization', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );

  it('answers FORBIDDEN when authorizeJoin refuses, and joins when it allows', async () => {
    h = await startHub({
      authenticate,
      authorizeJoin: async ({ userId, room }) => room.startsWith(`${userId}:`) || room === 'lobby',
    });
    const alice = await TestClient.welcomed(`${h.url}?token=tok-alice`);
    clients.push(alice);
    expect(await alice.request({ event: 'join', id: 1, data: { room: 'bob:inbox' } })).toEqual({
      event: 'error',
      id: 1,
      data: { code: 'FORBIDDEN', message: 'not allowed to join "bob:inbox"' },
    });
    expect(await alice.request({ event: 'join', id: 2, data: { room: 'alice:inbox' } })).toEqual({
      event: 'joined',
      id: 2,
      data: { room: 'alice:inbox' },
    });
    expect(h.hub.roomsOf(alice.id)).toEqual(['alice:inbox']);
    expect(h.hub.membersOf('bob:inbox')).toEqual([]);
    expect((await alice.request({ event: 'join', id: 3, data: { room: 42 } })).data.code).toBe(
      'BAD_ENVELOPE',
    );
  });

  it('enforces maxRoomsPerClient, also for joins sent at once', async () => {
    h = await startHub({
      maxRoomsPerClient: 2,
      authorizeJoin: () => new Promise<boolean>((r) => setTimeout(() => r(true), 20)),
    });
    const c = await TestClient.welcomed(h.url);
    clients.push(c);
    for (let i = 0; i < 6; i++) c.send({ event: 'join', id: i, data: { room: `r${i}` } });
    await waitFor(() => c.frames.filter((f) => typeof f.id === 'number').length === 6);
    const replies = c.frames.filter((f) => typeof f.id === 'number');
    expect(replies.filter((f) => f.event === 'joined')).toHaveLength(2);
    expect(
      replies.filter((f) => f.event === 'error').every((f) => f.data.code === 'FORBIDDEN'),
    ).toBe(true);
    expect(h.hub.roomsOf(c.id)).toHaveLength(2);
  });

  it('answers 503 when authenticate takes longer than authenticateTimeoutMs', async () => {
    const logs = captureLogs(/authenticate timed out/);
    h = await startHub({
      authenticateTimeoutMs: 100,
      authenticate: () => new Promise(() => undefined),
    });
    const started = Date.now();
    expect(await handshakeStatus(h.url)).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.hub.stats().rejectedHandshakes['503']).toBe(1);
    expect(logs.warnings()).toEqual(['authenticate timed out after 100 ms']);
  });
});
