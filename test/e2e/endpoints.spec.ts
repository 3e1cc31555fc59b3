import { connect as tcpConnect } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { afterEach, describe, expect, it } from 'vitest';
import { HubService, WsHubModule } from '../../src/ws-hub/index.js';
import { TestClient } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * Issue 16, item 8: the hub says at startup which other WebSocket endpoints the app opens, and
 * an upgrade on a path nothing serves gets an HTTP status instead of a hang-up.
 */

/** Nest's usual habit: a gateway without a path, which Nest serves at `/`. */
@WebSocketGateway()
class LegacyGateway {
  @SubscribeMessage('legacy')
  legacy(@MessageBody() data: unknown) {
    return { event: 'legacy', data };
  }
}

@WebSocketGateway({ path: '/admin' })
class AdminGateway {
  @SubscribeMessage('admin')
  admin() {
    return { event: 'admin', data: 'open to anyone' };
  }
}

/** On the hub's path written without its slash: the hub's own, no warning. */
@WebSocketGateway({ path: 'ws' })
class OnHubGateway {
  @SubscribeMessage('on-hub')
  onHub() {
    return { event: 'on-hub', data: 1 };
  }
}

type Platform = 'express' | 'fastify';

async function start(
  providers: unknown[],
  platform: Platform = 'express',
  prefix?: string,
): Promise<{ app: INestApplication; port: number }> {
  @Module({ imports: [WsHubModule.forRoot({})], providers: providers as never })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error', 'warn'] })
      : moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  if (prefix) app.setGlobalPrefix(prefix);
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

/**
 * What a raw upgrade request on `path` gets: the response's status line and whether the server
 * ended the connection cleanly (a hang-up is a reset or a close without any response).
 */
function rawUpgrade(
  port: number,
  path: string,
  host = `127.0.0.1:${port}`,
): Promise<{ statusLine: string; response: string }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to an upgrade on ${path} within 3 s`));
    }, 3_000);
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
          'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    socket.on('data', (d) => (response += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ statusLine: response.split('\r\n')[0], response });
    });
  });
}

/** The HTTP status a ws client sees for a handshake (101 when it upgraded). */
async function handshakeStatus(url: string): Promise<number | string> {
  const c = TestClient.open(url);
  try {
    await c.opened;
    c.terminate();
    return 101;
  } catch (err) {
    return (err as { status?: number; message: string }).status ?? (err as Error).message;
  }
}

describe('other WebSocket endpoints and unknown paths (issue 16, item 8)', () => {
  let app: INestApplication | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await app?.close();
    app = undefined;
  });

  it('warns once at startup for each other gateway, naming its class and path, and how to move it', async () => {
    const logs = captureLogs(/opens another WebSocket endpoint/);
    const started = await start([LegacyGateway, AdminGateway, OnHubGateway]);
    app = started.app;
    const warnings = logs.warnings().filter((w) => /another WebSocket endpoint/.test(w));
    expect(warnings).toHaveLength(2);
    expect(warnings).toContainEqual(
      expect.stringMatching(
        /^LegacyGateway opens another WebSocket endpoint at "\/", .*@HubGateway\(\)/,
      ),
    );
    expect(warnings).toContainEqual(
      expect.stringMatching(/^AdminGateway opens another WebSocket endpoint at "\/admin"/),
    );
    expect(warnings.some((w) => w.includes('OnHubGateway'))).toBe(false);
    expect(logs.errors()).toEqual([]);
    // The gateway on the hub's path is the hub's: it gets the welcome and its event.
    const c = await TestClient.welcomed(`ws://127.0.0.1:${started.port}/ws`);
    clients.push(c);
    expect(await c.request({ event: 'on-hub', id: 1 })).toEqual({
      event: 'on-hub',
      id: 1,
      data: 1,
    });
    // The other gateways' events are not the hub's.
    expect(await c.request({ event: 'legacy', id: 2 })).toMatchObject({
      event: 'error',
      data: { code: 'UNKNOWN_EVENT' },
    });
  });

  for (const platform of ['express', 'fastify'] as const) {
    it(`answers HTTP 404 to an upgrade on a path no gateway serves, and still upgrades the hub's (${platform})`, async () => {
      captureLogs(/opens another WebSocket endpoint/);
      const started = await start([LegacyGateway], platform);
      app = started.app;
      const base = `ws://127.0.0.1:${started.port}`;
      for (const path of ['/nope', '/ws/', '/WS', '/ws/deeper', '/nope?token=abc']) {
        expect(await handshakeStatus(base + path), path).toBe(404);
      }
      const raw = await rawUpgrade(started.port, '/nope');
      expect(raw.statusLine).toBe('HTTP/1.1 404 Not Found');
      // the hub and the gateway at "/" still upgrade
      const hub = await TestClient.welcomed(`${base}/ws`);
      clients.push(hub);
      const legacy = await TestClient.connect(`${base}/`);
      clients.push(legacy);
      legacy.send({ event: 'legacy', data: 'x' });
      expect(await legacy.next((f) => f.event === 'legacy')).toEqual({
        event: 'legacy',
        data: 'x',
      });
    });
  }

  it('setGlobalPrefix("api"): /api/ws answers 404, the hub stays at /ws and says so once', async () => {
    const logs = captureLogs(/global prefix/);
    const started = await start([], 'express', 'api');
    app = started.app;
    const base = `ws://127.0.0.1:${started.port}`;
    expect(await handshakeStatus(`${base}/api/ws`)).toBe(404);
    expect((await rawUpgrade(started.port, '/api/ws')).statusLine).toBe('HTTP/1.1 404 Not Found');
    const c = await TestClient.welcomed(`${base}/ws`);
    clients.push(c);
    expect(app.get(HubService).online).toBe(1);
    const notes = logs.messages().filter((m) => /global prefix/.test(m));
    expect(notes).toEqual([expect.stringMatching(/"api" does not apply .* hub is at "\/ws"/)]);
  });

  it('answers a well-formed 400 to an upgrade on the hub path whose Host header is unusable', async () => {
    const started = await start([]);
    app = started.app;
    for (const host of ['a b', '']) {
      const { statusLine, response } = await rawUpgrade(started.port, '/ws', host);
      expect(statusLine, `Host: "${host}"`).toMatch(/^HTTP\/1\.1 400 /);
      // a status line, headers, an empty line: something a client can parse
      expect(response, `Host: "${host}"`).toContain('\r\n\r\n');
    }
  });

  it("leaves an unknown path to the app's own upgrade listener when it has one", async () => {
    const started = await start([]);
    app = started.app;
    const server = app.getHttpServer() as import('node:http').Server;
    server.on('upgrade', (request, socket) => {
      if (request.url === '/graphql') {
        socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    });
    expect((await rawUpgrade(started.port, '/graphql')).statusLine).toBe(
      'HTTP/1.1 418 I am a teapot',
    );
    const c = await TestClient.welcomed(`ws://127.0.0.1:${started.port}/ws`);
    clients.push(c);
  });
});
