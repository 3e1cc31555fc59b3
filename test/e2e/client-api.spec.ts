import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsePipes, ValidationPipe } from '@nestjs/common';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { IsString, MaxLength } from 'class-validator';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  HubQueueExpiredError,
  HubRequestError,
  type HubClientOptions,
  type HubStateChange,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import { HubGateway, type WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHubOn, type HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';
import { freePort } from '../helpers/redis-server.js';

/**
 * The client API of issues 16 and 19 against the real server (and, for what only `ws` shows, a
 * bare HTTP server): server `details` on `HubRequestError`, `autoConnect: false` / `connect()` /
 * `ready()` / `setToken()` after a refusal, the queue's age while the server is down, HTTP
 * refusals and `Retry-After`, and a throwing listener in a Node process of its own.
 */

class ChatDto {
  @IsString()
  @MaxLength(10)
  text!: string;
}

@HubGateway()
class ChatGateway {
  @SubscribeMessage('chat')
  @UsePipes(new ValidationPipe())
  chat(@MessageBody() body: ChatDto) {
    return { event: 'chatted', data: { text: body.text } };
  }
}

const servers: HubApp[] = [];
const clients: WsHubClient<any, any, any>[] = [];
const httpServers: HttpServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const h of httpServers.splice(0)) {
    h.closeAllConnections();
    await new Promise((done) => h.close(done));
  }
});

/** A hub on `port` (restartable there); tokens `good` and `other` are accepted. */
async function hubOn(port: number, options: WsHubModuleOptions = {}): Promise<HubApp> {
  const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token }) =>
    token === 'good' || token === 'other' ? { userId: token } : null;
  const server = await startHubOn(port, { authenticate, ...options }, [ChatGateway]);
  servers.push(server);
  return server;
}

function client(url: string, options: HubClientOptions = {}) {
  const c = createHubClient<any, { chat: { text?: unknown } }>(url, {
    WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    ...options,
  });
  const changes: HubStateChange[] = [];
  c.onState((x) => changes.push(x));
  clients.push(c);
  return { client: c, changes };
}

describe('ws-hub/client API against the real server', () => {
  it('HubRequestError carries the server details: ValidationPipe messages', async () => {
    const port = await freePort();
    await hubOn(port);
    const { client: c } = client(`ws://127.0.0.1:${port}/ws`, { token: 'good' });
    await c.ready();
    expect(await c.request('chat', { text: 'short' })).toEqual({ text: 'short' });
    const error = await c.request('chat', { text: 'far too long!' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'text must be shorter than or equal to 10 characters',
      details: ['text must be shorter than or equal to 10 characters'],
    });
    const missing = (await c.request('chat', {}).catch((e: unknown) => e)) as HubRequestError;
    expect(missing.details).toContain('text must be a string');
  });

  it('autoConnect: false, ready(), and after a refusal setToken() + connect() with the rooms kept', async () => {
    const port = await freePort();
    const server = await hubOn(port, { authFailure: 'close' });
    const { client: c, changes } = client(`ws://127.0.0.1:${port}/ws`, {
      token: 'good',
      autoConnect: false,
    });
    await sleep(200);
    expect(c.state).toBe('closed');
    expect(server.hub.online).toBe(0); // no handshake until connect()
    c.connect();
    const first = await c.ready();
    expect(first.userId).toBe('good');
    expect(await c.join('lobby')).toEqual({ room: 'lobby' });

    c.setToken('bad');
    c.close();
    c.connect();
    await expect(c.ready()).rejects.toThrow('client closed (refused)');
    expect(changes.at(-1)).toMatchObject({ state: 'closed', code: 4401, cause: 'refused' });
    expect([...c.rooms]).toEqual(['lobby']);

    c.setToken(async () => 'other');
    c.connect();
    const second = await c.ready();
    expect(second.userId).toBe('other');
    await waitFor(() => server.hub.roomsOf(second.clientId).includes('lobby'));
    expect(server.hub.broadcast('news', 1, { rooms: ['lobby'] })).toBe(1);
  });

  it('while the server is down, queued items expire after queue.maxAgeMs; joins stay remembered', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/ws`;
    let server = await hubOn(port);
    const { client: c, changes } = client(url, {
      token: 'good',
      queue: { maxAgeMs: 400 },
      requestTimeoutMs: 100, // shorter than the queue age: it must not apply while queued
    });
    await c.ready();
    await c.join('lobby');
    await server.close();
    await waitFor(() => c.state === 'reconnecting');

    const startedAt = performance.now();
    const request = c.request('message', 'while down').catch((e: unknown) => e);
    const sent = c.send('message', 'fire and forget').catch((e: unknown) => e);
    const joined = c.join('ops').catch((e: unknown) => e);
    expect(await request).toBeInstanceOf(HubQueueExpiredError);
    const waitedMs = performance.now() - startedAt;
    expect(waitedMs).toBeGreaterThanOrEqual(390);
    expect(waitedMs).toBeLessThan(1500);
    expect(await sent).toBeInstanceOf(HubQueueExpiredError);
    expect(await joined).toMatchObject({
      name: 'HubQueueExpiredError',
      message: 'join not sent: no connection within 400 ms (queue.maxAgeMs)',
    });
    expect([...c.rooms].sort()).toEqual(['lobby', 'ops']); // the outage forgot no room

    server = await hubOn(port);
    const reopened = changes.length;
    await waitFor(() => changes.slice(reopened).some((x) => x.state === 'open'), 5000);
    const id = c.welcome!.clientId;
    await waitFor(() => server.hub.roomsOf(id).length === 2);
    expect(server.hub.roomsOf(id).sort()).toEqual(['lobby', 'ops']);
    // and a request made now is answered within its reply timeout
    expect(await c.request('message', 'back')).toBe('back');
  });
});

describe('ws-hub/client and HTTP answers to the handshake (ws shows them)', () => {
  /** A bare HTTP server answering every upgrade with `status`; records when each came. */
  async function answering(status: number, headers: Record<string, string> = {}) {
    const attempts: number[] = [];
    const server = createServer();
    server.on('upgrade', (_req, socket) => {
      // The client may reset the connection once it has read the refusal (ECONNRESET).
      socket.on('error', () => undefined);
      attempts.push(performance.now());
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.end(`HTTP/1.1 ${status} Refused\r\n${lines.join('')}Content-Length: 0\r\n\r\n`);
    });
    httpServers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    return { url: `ws://127.0.0.1:${port}/ws`, attempts };
  }

  it.each([503, 429])(
    '%i with Retry-After: 1 — the next attempt waits 1 to 2 s',
    async (status) => {
      const { url, attempts } = await answering(status, { 'Retry-After': '1' });
      const { client: c, changes } = client(url);
      await waitFor(() => attempts.length === 2, 4000);
      const gapMs = attempts[1] - attempts[0];
      expect(gapMs).toBeGreaterThanOrEqual(950);
      expect(gapMs).toBeLessThan(2300);
      expect(changes[0]).toMatchObject({
        state: 'reconnecting',
        code: 1006,
        reason: `HTTP ${status}`,
        cause: 'lost',
      });
      expect((changes[0] as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(1000);
      c.close();
    },
  );

  it('403 stops the client (refused) after one handshake', async () => {
    const { url, attempts } = await answering(403);
    const { changes } = client(url);
    await waitFor(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ state: 'closed', reason: 'HTTP 403', cause: 'refused' });
    await sleep(400);
    expect(attempts).toHaveLength(1);
  });
});

describe('a throwing listener in Node', () => {
  it('neither ends the process nor stops later events (reported on stderr)', async () => {
    const port = await freePort();
    const server = await hubOn(port);
    const dir = await mkdtemp(join(tmpdir(), 'ws-hub-client-'));
    try {
      await build({
        entryPoints: ['src/ws-hub/client/index.ts'],
        bundle: true,
        format: 'cjs',
        platform: 'node',
        outfile: join(dir, 'client.cjs'),
        logLevel: 'silent',
      });
      const script = join(dir, 'listener.cjs');
      await writeFile(
        script,
        `const { createHubClient } = require('./client.cjs');
const WebSocket = require('ws');
const hub = createHubClient(process.argv[2], { WebSocket, token: 'good' });
let seen = 0;
hub.on('news', () => { throw new Error('listener bug'); });
hub.on('news', (data) => {
  console.log('news ' + data);
  if (++seen === 2) { hub.close(); console.log('done'); }
});
hub.onState((s) => { if (s.state === 'open') console.log('open'); });
`,
      );
      const child = spawn(process.execPath, [script, `ws://127.0.0.1:${port}/ws`], {
        env: { ...process.env, NODE_PATH: resolve('node_modules') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((done) => child.on('exit', done));
      try {
        await waitFor(() => stdout.includes('open'), 10_000);
        expect(server.hub.broadcast('news', 1)).toBe(1);
        await waitFor(() => stdout.includes('news 1'));
        await sleep(100); // a rethrow from a microtask would have ended the process by now
        expect(server.hub.broadcast('news', 2)).toBe(1);
        expect(await exited).toBe(0);
      } finally {
        child.kill();
      }
      expect(stdout.split('\n').filter(Boolean)).toEqual(['open', 'news 1', 'news 2', 'done']);
      expect(stderr.match(/Error: listener bug/g)).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
