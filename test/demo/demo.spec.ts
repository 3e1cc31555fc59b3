import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import { signHs256, verifyHs256 } from '../../src/demo/jwt.js';
import { startDemo } from '../helpers/demo.js';
import { HubService } from '../../src/ws-hub/index.js';

describe('demo app HTTP endpoints', () => {
  let app: INestApplication | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await app?.close();
    app = undefined;
  });

  it('broadcasts through POST /broadcast and reports it in GET /stats', async () => {
    const demo = await startDemo();
    app = demo.app;
    const a = await TestClient.welcomed(`${demo.ws}/ws`);
    const b = await TestClient.welcomed(`${demo.ws}/ws`);
    clients.push(a, b);

    let res = await fetch(`${demo.base}/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { hello: 'world' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered: 2 });
    expect(await a.next((f) => f.event === 'broadcast')).toEqual({
      event: 'broadcast',
      data: { hello: 'world' },
    });
    expect(await b.next((f) => f.event === 'broadcast')).toEqual({
      event: 'broadcast',
      data: { hello: 'world' },
    });

    res = await fetch(`${demo.base}/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'alert', data: 1, except: [a.id] }),
    });
    expect(await res.json()).toEqual({ delivered: 1 });
    expect(await b.next((f) => f.event === 'alert')).toEqual({ event: 'alert', data: 1 });

    const stats = (await (await fetch(`${demo.base}/stats`)).json()) as any;
    expect(stats.online).toBe(2);
    expect(stats.cluster).toEqual({ online: 2, instances: 1 });
    expect(typeof stats.rssBytes).toBe('number');
    expect(typeof stats.eventLoopDelayP99Ms).toBe('number');

    const health = await fetch(`${demo.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      info: { 'ws-hub': { status: 'up', online: 2 } },
    });

    const metrics = await fetch(`${demo.base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^ws_hub_connections\{instance="[^"]+"\} 2$/m);
    expect(text).toMatch(/^ws_hub_messages_delivered_total\{instance="[^"]+"\} \d+$/m);
  });

  it('rejects a malformed broadcast body with 400', async () => {
    const demo = await startDemo();
    app = demo.app;
    for (const body of [
      '[1]',
      '{"event":5}',
      '{"data":1,"rooms":"a"}',
      '{"data":1,"except":[1]}',
    ]) {
      const res = await fetch(`${demo.base}/broadcast`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
    }
  });

  it('serves the web page with the hub path filled in', async () => {
    const demo = await startDemo({ HUB_PATH: '/live' });
    app = demo.app;
    const res = await fetch(`${demo.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('data-hub-path="/live"');
    expect(html).toContain('data-hub-auth="none"');
    expect(html).toContain('data-hub-auth-failure="auto"');
    expect(html).toContain('ws-hub demo');
    const c = await TestClient.welcomed(`${demo.ws}/live`);
    clients.push(c);
  });

  it('serves the page assets and ws-hub/client bundled for the browser', async () => {
    const demo = await startDemo();
    app = demo.app;
    const get = async (path: string) => {
      const r = await fetch(`${demo.base}/${path}`);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    };
    const script = await get('app.js');
    expect(script).toMatchObject({ status: 200, type: expect.stringContaining('text/javascript') });
    // the page reaches the library only through its public entry point
    expect(script.text).toContain("from './hub-client.js'");
    expect(script.text).not.toMatch(/new WebSocket/);
    const bundle = await get('hub-client.js');
    expect(bundle).toMatchObject({ status: 200, type: expect.stringContaining('text/javascript') });
    expect(bundle.text).toMatch(/export \{[^}]*createHubClient/);
    expect(bundle.text).not.toMatch(/\bimport\b.*\bfrom\b/);
    expect(bundle.text).not.toMatch(/require\(|@nestjs|rxjs/);
    expect(await get('app.css')).toMatchObject({
      status: 200,
      type: expect.stringContaining('css'),
    });
    const icon = await get('favicon.svg');
    expect(icon).toMatchObject({ status: 200, type: expect.stringContaining('image/svg+xml') });
    expect(icon.text).toContain('<svg');
    // the page links both
    const html = (await get('')).text;
    expect(html).toContain('<link rel="icon" href="favicon.svg"');
    expect(html).toContain('<script type="module" src="app.js">');
  });

  it('answers a refused token with close 4401 when HUB_AUTH_FAILURE=close', async () => {
    const demo = await startDemo({ HUB_AUTH_TOKENS: 'tok-1:alice', HUB_AUTH_FAILURE: 'close' });
    app = demo.app;
    const html = await (await fetch(`${demo.base}/`)).text();
    expect(html).toContain('data-hub-auth="token"');
    expect(html).toContain('data-hub-auth-failure="close"');
    const refused = TestClient.open(`${demo.ws}/ws`, { protocols: ['ws-hub.v1', 'bearer.nope'] });
    clients.push(refused);
    await refused.opened;
    expect(await refused.closed()).toBe(4401);
    expect(refused.closeReason).toBe('unauthorized');
    expect(refused.frames).toEqual([]);
    const alice = await TestClient.welcomed(`${demo.ws}/ws`, {
      protocols: ['ws-hub.v1', 'bearer.tok-1'],
    });
    clients.push(alice);
    expect(alice.frames[0].data.userId).toBe('alice');
  });

  it('accepts HS256 JWTs with HUB_JWT_SECRET (exp: the expiry, refreshed in-band), besides HUB_AUTH_TOKENS', async () => {
    const secret = 'demo-secret';
    const demo = await startDemo({
      HUB_JWT_SECRET: secret,
      HUB_AUTH_TOKENS: 'tok-1:alice',
      HUB_TOKEN_REFRESH_BEFORE_MS: '1500',
    });
    app = demo.app;
    const now = Math.floor(Date.now() / 1000);
    const jwt = (claims: Record<string, unknown>, key = secret) => signHs256(claims, key);
    const connect = (token: string) =>
      TestClient.connect(`${demo.ws}/ws`, { headers: { authorization: `Bearer ${token}` } });
    const bob = await connect(jwt({ sub: 'bob', exp: now + 2 }));
    clients.push(bob);
    const welcome = (await bob.next((f) => f.event === 'welcome')).data;
    expect(welcome).toMatchObject({ userId: 'bob', expiresAt: (now + 2) * 1000 });
    // asked 1.5 s before the expiry; a newer JWT keeps the connection
    await bob.next((f) => f.event === 'expiring', 3000);
    const reply = await bob.request({
      event: 'refresh',
      id: 1,
      data: { token: jwt({ sub: 'bob', exp: now + 600 }) },
    });
    expect(reply).toMatchObject({ event: 'refreshed', data: { expiresAt: (now + 600) * 1000 } });
    const alice = await connect('tok-1');
    clients.push(alice);
    expect((await alice.next((f) => f.event === 'welcome')).data.userId).toBe('alice');
    // refused: another secret, alg none, expired, no sub, not a JWT
    const [header, payload] = jwt({ sub: 'eve' }).split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    for (const token of [
      jwt({ sub: 'eve' }, 'other'),
      none,
      `${header}.${payload}.`,
      jwt({ sub: 'eve', exp: now - 10 }),
      jwt({ exp: now + 60 }),
      'a.b',
    ]) {
      await expect(connect(token)).rejects.toMatchObject({ status: 401 });
    }
    expect(verifyHs256(jwt({ sub: 'eve', nbf: now + 60 }), secret)).toBeNull();
    expect(verifyHs256(jwt({ sub: 'eve' }), secret)).toEqual({ sub: 'eve' });
  });

  it('reads hub options from the environment through forRootAsync', async () => {
    const demo = await startDemo({
      HUB_PATH: '/env',
      HUB_PING_INTERVAL_MS: '4321',
      HUB_MAX_PAYLOAD_BYTES: '256',
    });
    app = demo.app;
    const c = await TestClient.welcomed(`${demo.ws}/env`);
    clients.push(c);
    expect(c.frames[0].data.pingIntervalMs).toBe(4321);
    c.send({ event: 'message', data: 'x'.repeat(300) });
    expect(await c.closed()).toBe(1009);
  });

  it('fails to start on a bad environment value, naming the variable', async () => {
    await expect(startDemo({ HUB_PING_INTERVAL_MS: 'soon' })).rejects.toThrow(
      /HUB_PING_INTERVAL_MS/,
    );
    await expect(startDemo({ HUB_MAX_MISSED_PONGS: '0' })).rejects.toThrow(/maxMissedPongs/);
  });

  it('applies the security environment variables', async () => {
    const demo = await startDemo({
      HUB_AUTH_TOKENS: 'tok-1:alice, tok-2:bob',
      HUB_ALLOWED_ORIGINS: 'https://ok.example',
      HUB_MAX_CONNECTIONS: '2',
      HUB_RATE_LIMIT: '2/2',
      HUB_SLOW_CONSUMER: 'drop',
      HUB_MAX_BUFFERED_BYTES: '4096',
    });
    app = demo.app;
    const status = async (url: string, options: Record<string, unknown> = {}) => {
      const c = TestClient.open(url, options);
      try {
        await c.opened;
        clients.push(c);
        return 101;
      } catch (err) {
        return (err as { status: number }).status;
      }
    };
    expect(await status(`${demo.ws}/ws`)).toBe(401);
    expect(await status(`${demo.ws}/ws?token=tok-1`, { origin: 'https://evil.example' })).toBe(403);
    const alice = await TestClient.welcomed(`${demo.ws}/ws?token=tok-1`, {
      origin: 'https://ok.example',
    });
    const bob = await TestClient.welcomed(`${demo.ws}/ws`, {
      protocols: ['ws-hub.v1', 'bearer.tok-2'],
    });
    clients.push(alice, bob);
    expect([alice.frames[0].data.userId, bob.frames[0].data.userId]).toEqual(['alice', 'bob']);
    expect(await status(`${demo.ws}/ws?token=tok-1`)).toBe(503);
    for (let i = 0; i < 3; i++) alice.send({ event: 'message', id: i });
    const limited = await alice.next((f) => f.event === 'error');
    expect(limited.data.code).toBe('RATE_LIMITED');
    const stats = (await (await fetch(`${demo.base}/stats`)).json()) as any;
    expect(stats.rejectedHandshakes).toMatchObject({ '401': 1, '403': 1, '503': 1 });
  });

  it('turns message recovery on with HUB_RECOVERY=on', async () => {
    const protocols = ['ws-hub.v1', 'ws-hub.recovery'];
    const plain = await startDemo();
    app = plain.app;
    const v1 = await TestClient.welcomed(`${plain.ws}/ws`, { protocols });
    clients.push(v1);
    expect(v1.ws.protocol).toBe('ws-hub.v1');
    expect(v1.frames[0].data.recovery).toBeUndefined();
    await app.close();

    const demo = await startDemo({ HUB_RECOVERY: 'on' });
    app = demo.app;
    const c = await TestClient.connect(`${demo.ws}/ws`, { protocols });
    clients.push(c);
    expect(c.ws.protocol).toBe('ws-hub.recovery');
    c.send({ event: 'recover', data: {} });
    const welcome = await c.next((f) => f.event === 'welcome');
    expect(welcome.data.recovery).toMatchObject({ recovered: false, session: expect.any(String) });
    await expect(startDemo({ HUB_RECOVERY: 'yes' })).rejects.toThrow(
      'demo: environment variable HUB_RECOVERY must be "on" or "off", got "yes"',
    );
  });

  it('rejects malformed security environment values at startup', async () => {
    await expect(startDemo({ HUB_RATE_LIMIT: 'fast' })).rejects.toThrow(/HUB_RATE_LIMIT/);
    await expect(startDemo({ HUB_SLOW_CONSUMER: 'ignore' })).rejects.toThrow(/HUB_SLOW_CONSUMER/);
    await expect(startDemo({ HUB_AUTH_TOKENS: 'no-colon' })).rejects.toThrow(/HUB_AUTH_TOKENS/);
    await expect(startDemo({ HUB_AUTH_FAILURE: '401' })).rejects.toThrow(
      'demo: environment variable HUB_AUTH_FAILURE must be "auto", "http" or "close", got "401"',
    );
  });

  it('drains with HUB_DRAIN_MS: GET /health answers 503 at once, clients get 1012 spread over it', async () => {
    // Terminus logs a failing check as an error: provoked here, captured and asserted.
    const logs = captureLogs(/Health Check has failed/);
    const demo = await startDemo({ HUB_DRAIN_MS: '400' });
    app = demo.app;
    const hub = demo.app.get(HubService);
    expect(hub.options.drainMs).toBe(400);
    const cs = await Promise.all([1, 2, 3, 4].map(() => TestClient.welcomed(`${demo.ws}/ws`)));
    clients.push(...cs);
    expect((await fetch(`${demo.base}/health`)).status).toBe(200);
    const drained = hub.drain();
    const health = await fetch(`${demo.base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'error',
      error: { 'ws-hub': { status: 'down', message: 'draining' } },
    });
    // the other endpoints still answer: the app is not closing, only its hub is draining
    expect((await fetch(`${demo.base}/stats`)).status).toBe(200);
    expect((await drained).clients).toBe(4);
    expect(cs.map((c) => c.closeCode)).toEqual([1012, 1012, 1012, 1012]);
    expect(logs.messages('error')).toEqual([
      expect.stringMatching(/Health Check has failed!.*draining/),
    ]);
  });

  it('admits at most HUB_MAX_HANDSHAKES_PER_S handshakes a second, then 503 with Retry-After', async () => {
    const demo = await startDemo({ HUB_MAX_HANDSHAKES_PER_S: '3' });
    app = demo.app;
    const tries = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => {
        try {
          clients.push(await TestClient.connect(`${demo.ws}/ws`));
          return 101;
        } catch (error) {
          const { status, headers } = error as { status: number; headers: Record<string, string> };
          return `${status} ${headers['retry-after']}`;
        }
      }),
    );
    expect(tries.sort()).toEqual([101, 101, 101, '503 1', '503 1']);
    await expect(startDemo({ HUB_MAX_HANDSHAKES_PER_S: '0' })).rejects.toThrow(
      /maxHandshakesPerSecond/,
    );
    await expect(startDemo({ HUB_DRAIN_MS: 'soon' })).rejects.toThrow(
      'demo: environment variable HUB_DRAIN_MS must be a whole number, got "soon"',
    );
  });
});
