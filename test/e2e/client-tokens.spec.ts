import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createHubClient,
  type HubClientOptions,
  type HubStateChange,
  type HubTokenRefresh,
  type WsHubClient,
} from '../../src/ws-hub/client/index.js';
import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/client.js';

/**
 * Issue 21 with the real `ws-hub/client` (zero app code: `getToken` alone) against the real
 * server: in-band refreshes keep one connection, and the races: a refresh crossing the expiry,
 * `getToken` slower than the remaining lifetime, a refresh during a reconnect, two refreshes
 * at once, a refused refresh, and a client clock a few seconds off the server's.
 *
 * Tokens are `<user>.<expiresAt epoch ms>` (subprotocol characters); `bad` is refused.
 */

let refreshes = 0;
const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token, tokenSource }) => {
  if (tokenSource === 'refresh') refreshes++;
  if (!token || token === 'bad') return null;
  const [userId, at] = token.split('.');
  return at ? { userId, expiresAt: Number(at) } : { userId };
};
const mint = (user: string, ms: number) => `${user}.${Date.now() + ms}`;

let hub: HubApp | undefined;
const clients: WsHubClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.close();
  hub = undefined;
  refreshes = 0;
});

interface Watched {
  client: WsHubClient;
  states: HubStateChange[];
  refreshed: HubTokenRefresh[];
  ticks: number[];
}

async function start(options: WsHubModuleOptions = {}) {
  hub = await startHub({ authenticate, rateLimit: false, ...options });
  return hub;
}

function watch(getToken: () => string | Promise<string>, extra: Partial<HubClientOptions> = {}) {
  const client = createHubClient(hub!.url, {
    WebSocket,
    getToken,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    ...extra,
  });
  clients.push(client);
  const w: Watched = { client, states: [], refreshed: [], ticks: [] };
  client.onState((s) => w.states.push(s));
  client.onTokenRefresh((r) => w.refreshed.push(r));
  client.on('tick', (n: number) => w.ticks.push(n));
  return w;
}

/** Broadcasts `tick` 0, 1, 2... to `room` every 40 ms; returns a stop that says how many. */
function ticking(room: string): () => number {
  let n = 0;
  const timer = setInterval(() => hub!.hub.broadcast('tick', n++, { rooms: room }), 40);
  return () => {
    clearInterval(timer);
    return n;
  };
}

const opens = (w: Watched) => w.states.filter((s) => s.state === 'open').length;
const causes = (w: Watched) =>
  w.states.flatMap((s) => (s.state === 'reconnecting' || s.state === 'closed' ? [s.cause] : []));

describe('ws-hub/client and tokens that expire', () => {
  it('refreshes in-band whenever asked: one connection, rooms kept, every message, tokenExpiresAt follows', async () => {
    await start({ tokenRefreshBeforeMs: 700 });
    let calls = 0;
    const w = watch(() => (calls++, mint('ann', 1400)));
    await w.client.ready();
    await w.client.join('r');
    const stop = ticking('r');
    await sleep(4000);
    const sent = stop();
    await sleep(100);
    expect(opens(w)).toBe(1);
    expect(causes(w)).toEqual([]);
    expect(w.refreshed.length).toBeGreaterThanOrEqual(4);
    expect(w.refreshed.every((r) => r.ok)).toBe(true);
    expect(calls).toBe(1 + w.refreshed.length);
    expect(refreshes).toBe(w.refreshed.length);
    expect(w.ticks).toEqual([...Array(sent).keys()]);
    // Local clock: receive time + expiresInMs, so within the token's lifetime from now.
    const left = w.client.tokenExpiresAt! - Date.now();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(1400);
  });

  it('a refresh crossing the expiry (getToken slower than the remaining lifetime): 4440, then one reconnect with that token, rooms rejoined', async () => {
    await start({ tokenRefreshBeforeMs: 600 });
    let calls = 0;
    const w = watch(async () => {
      calls++;
      if (calls === 2) await sleep(1200); // the refresh's token arrives after the expiry
      return mint('ann', calls === 1 ? 1000 : 60_000);
    });
    await w.client.ready();
    await w.client.join('r');
    const first = w.client.welcome!.clientId;
    await waitFor(() => opens(w) === 2, 5000);
    expect(causes(w)).toEqual(['expired']);
    const expired = w.states.find((s) => s.state === 'reconnecting');
    expect(expired).toMatchObject({ code: 4440, reason: 'token expired' });
    // getToken was called once for both the refresh and the reconnect (single flight).
    expect(calls).toBe(2);
    expect(w.refreshed).toMatchObject([{ ok: false }]);
    expect(w.client.welcome!.clientId).not.toBe(first);
    await waitFor(() => hub!.hub.membersOf('r').includes(w.client.welcome!.clientId), 2000);
    expect(w.client.state).toBe('open');
    expect(w.client.tokenExpiresAt! - Date.now()).toBeGreaterThan(50_000);
  });

  it('a refresh during a reconnect: the token getToken is fetching serves the new attempt, nothing is refused', async () => {
    await start();
    let calls = 0;
    let release: (() => void) | undefined;
    const w = watch(async () => {
      calls++;
      if (calls === 2) await new Promise<void>((r) => (release = r));
      return mint('ann', 60_000);
    });
    await w.client.ready();
    await w.client.join('r');
    const id = w.client.welcome!.clientId;
    hub!.hub.send(id, 'expiring', { expiresAt: Date.now() + 5000, expiresInMs: 5000 });
    await waitFor(() => release !== undefined, 2000);
    hub!.hub.disconnect(id, 4000, 'dropped'); // the connection goes while getToken runs
    await waitFor(() => w.client.state === 'reconnecting', 2000);
    await sleep(300); // the reconnect waits for the same getToken call
    expect(calls).toBe(2);
    release!();
    await waitFor(() => opens(w) === 2, 3000);
    expect(calls).toBe(2);
    expect(causes(w)).toEqual(['lost']);
    expect(w.refreshed).toMatchObject([{ ok: false }]);
    expect(refreshes).toBe(0); // never sent on a connection that was gone
    await waitFor(() => hub!.hub.membersOf('r').includes(w.client.welcome!.clientId), 2000);
  });

  it('two refreshes asked at once: one getToken call, one refresh frame', async () => {
    await start();
    let calls = 0;
    const w = watch(async () => {
      calls++;
      await sleep(100);
      return mint('ann', 60_000);
    });
    await w.client.ready();
    const id = w.client.welcome!.clientId;
    const ask = { expiresAt: Date.now() + 5000, expiresInMs: 5000 };
    hub!.hub.send(id, 'expiring', ask);
    hub!.hub.send(id, 'expiring', ask);
    await waitFor(() => w.refreshed.length === 1, 2000);
    await sleep(200);
    expect(w.refreshed).toMatchObject([{ ok: true }]);
    expect(calls).toBe(2);
    expect(refreshes).toBe(1);
    expect(hub!.hub.client(id)!.expiresAt! - Date.now()).toBeGreaterThan(50_000);
  });

  it('a refused refresh stops the client (refused); so does another user', async () => {
    await start();
    for (const next of ['bad', mint('bob', 60_000)]) {
      let calls = 0;
      const w = watch(() => (++calls === 1 ? mint('ann', 60_000) : next));
      await w.client.ready();
      hub!.hub.send(w.client.welcome!.clientId, 'expiring', { expiresInMs: 5000 });
      await waitFor(() => w.client.state === 'closed', 2000);
      expect(w.states.at(-1)).toMatchObject({ state: 'closed', cause: 'refused', code: 4401 });
      expect(w.refreshed[0].ok).toBe(false);
      expect(w.refreshed[0].error).toMatchObject({
        code: next === 'bad' ? 'TOKEN_REFUSED' : 'TOKEN_USER_MISMATCH',
      });
    }
  });

  it('revocation: the client stops with cause revoked', async () => {
    await start();
    const w = watch(() => mint('ann', 60_000));
    await w.client.ready();
    hub!.hub.revokeUser('ann');
    await waitFor(() => w.client.state === 'closed', 2000);
    expect(w.states.at(-1)).toMatchObject({ cause: 'revoked', code: 4441, reason: 'revoked' });
  });

  it('a client clock 5 s ahead or behind the server refreshes in time all the same', async () => {
    const server = await start({ tokenRefreshBeforeMs: 600 });
    const dir = await mkdtemp(join(tmpdir(), 'ws-hub-skew-'));
    try {
      await build({
        entryPoints: ['src/ws-hub/client/index.ts'],
        bundle: true,
        format: 'cjs',
        platform: 'node',
        outfile: join(dir, 'client.cjs'),
        logLevel: 'silent',
      });
      const script = join(dir, 'skewed.cjs');
      // The process's clock is off by SKEW ms; tokens are minted on the real (server) clock.
      await writeFile(
        script,
        `const real = Date.now;
const skew = Number(process.argv[3]);
Date.now = () => real() + skew;
const { createHubClient } = require('./client.cjs');
const WebSocket = require('ws');
const out = [];
const hub = createHubClient(process.argv[2], {
  WebSocket,
  getToken: () => 'ann.' + (real() + 1500),
});
hub.onState((s) => out.push({ state: s.state, cause: s.cause }));
hub.onTokenRefresh((r) => out.push({ refresh: r.ok, left: r.expiresAt - Date.now() }));
setTimeout(() => {
  out.push({ left: hub.tokenExpiresAt - Date.now() });
  hub.close();
  console.log(JSON.stringify(out));
}, 3500);
`,
      );
      for (const skew of [5000, -5000]) {
        const child = spawn(process.execPath, [script, server.url, String(skew)], {
          env: { ...process.env, NODE_PATH: resolve('node_modules') },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const code = await new Promise((done) => child.on('exit', done));
        expect(code, stderr).toBe(0);
        const out = JSON.parse(stdout) as Record<string, any>[];
        const states = out.filter((e) => e.state);
        // Opened once, refreshed in-band several times, never expired, closed by the script.
        expect(states.map((s) => s.state)).toEqual(['open', 'closed']);
        const refreshed = out.filter((e) => 'refresh' in e);
        expect(refreshed.length).toBeGreaterThanOrEqual(3);
        expect(refreshed.every((r) => r.refresh === true)).toBe(true);
        // The expiry on the local (skewed) clock is right: the token's lifetime, not 5 s off.
        for (const r of refreshed) expect(Math.abs(r.left - 1500)).toBeLessThan(300);
        const last = out.filter((e) => 'left' in e && !('refresh' in e)).at(-1)!;
        expect(last.left).toBeGreaterThan(0);
        expect(last.left).toBeLessThanOrEqual(1500);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
