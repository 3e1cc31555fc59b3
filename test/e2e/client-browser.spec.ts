import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WsHubModule } from '../../src/ws-hub/index.js';
import { startApp, type HubApp } from '../helpers/app.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * `ws-hub/client` in headless Chromium, for what only a browser does: the `online` / `offline`
 * events (a connection the network change killed is noticed in seconds, and the client comes
 * back at once when the browser is online again), and `reportError` for a throwing listener.
 */

// The page functions below run in the browser, where `window` is the DOM's.
declare const window: any;

const CHROMIUM = '/usr/bin/chromium';

// Without Chromium, vitest.config.ts leaves this file out (test/needs.ts), unless CI=true.
describe('ws-hub/client in headless Chromium', () => {
  let browser: Browser;
  let bundle: string;
  let hub: HubApp | undefined;
  let proxy: TcpProxy | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const result = await build({
      entryPoints: ['src/ws-hub/client/index.ts'],
      bundle: true,
      format: 'iife',
      globalName: 'wsHubClient',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
    });
    bundle = result.outputFiles[0].text;
  }, 30_000);
  afterAll(async () => browser?.close());
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await proxy?.close();
    proxy = undefined;
    await hub?.close();
    hub = undefined;
  });

  /** A page with the client loaded as `window.wsHubClient`; `errors`: its uncaught errors. */
  async function page(): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
    const context = await browser.newContext();
    contexts.push(context);
    const p = await context.newPage();
    const errors: string[] = [];
    p.on('pageerror', (error) => errors.push(error.message));
    await p.setContent('<!doctype html><title>client</title>');
    await p.addScriptTag({ content: bundle });
    return { page: p, context, errors };
  }

  /** Creates `window.hub` on `url` with `options`; records its state changes in `window.changes`. */
  function connect(p: Page, url: string, options: object = {}) {
    return p.evaluate(
      ([u, o]) => {
        window.changes = [];
        window.got = [];
        window.hub = window.wsHubClient.createHubClient(u, { ...o, random: () => 1 });
        window.hub.onState((s: any) => window.changes.push({ ...s, at: performance.now() }));
        return window.hub.ready().then(() => true);
      },
      [url, options] as const,
    );
  }

  const stateOf = (p: Page) => p.evaluate(() => window.hub.state as string);

  it('offline: a dead connection is noticed within seconds; online: back at once, not after the backoff', async () => {
    hub = await startApp(WsHubModule.forRoot());
    proxy = await startTcpProxy(hub.port);
    const { page: p, context } = await page();
    // pings every 60 s and a 20 s first backoff: only the network events can explain speed
    await connect(p, `ws://127.0.0.1:${proxy.port}/ws`, {
      pingIntervalMs: 60_000,
      reconnect: { initialDelayMs: 20_000, maxDelayMs: 20_000 },
    });
    expect(hub.hub.online).toBe(1);

    proxy.freeze(); // the network goes: nothing passes, nobody closes anything
    const offlineAt = await p.evaluate(() => performance.now());
    await context.setOffline(true);
    await p.waitForFunction(() => window.hub.state === 'reconnecting', undefined, {
      timeout: 6000,
    });
    const lost = await p.evaluate(() => window.changes.at(-1));
    expect(lost).toMatchObject({ state: 'reconnecting', code: 4000, cause: 'timeout' });
    expect(lost.at - offlineAt).toBeGreaterThan(2500); // the 3 s probe deadline
    expect(lost.at - offlineAt).toBeLessThan(5000); // not the 60 s ping interval
    expect(lost.delayMs).toBe(20_000);

    proxy.thaw();
    await context.setOffline(false);
    const onlineAt = await p.evaluate(() => performance.now());
    await p.waitForFunction(() => window.hub.state === 'open', undefined, { timeout: 5000 });
    const back = await p.evaluate(() => window.changes.at(-1));
    expect(back.at - onlineAt).toBeLessThan(3000); // at once, not after 20 s
    expect(await stateOf(p)).toBe('open');
  });

  it('an offline event on a connection that still works: the probe is answered, the connection kept', async () => {
    hub = await startApp(WsHubModule.forRoot());
    const { page: p } = await page();
    await connect(p, hub.url, { pingIntervalMs: 60_000 });
    // (Chromium's offline emulation also stops the socket: the event alone, as when one of two
    // networks goes away)
    await p.evaluate(() => {
      const send = window.WebSocket.prototype.send;
      window.sent = [];
      window.WebSocket.prototype.send = function (data: string) {
        window.sent.push(data);
        return send.call(this, data);
      };
      window.dispatchEvent(new Event('offline'));
    });
    await new Promise((r) => setTimeout(r, 3500)); // past the probe's 3 s deadline
    expect(await p.evaluate(() => window.sent)).toEqual(['{"event":"ping","id":0}']);
    expect(await p.evaluate(() => window.changes.map((c: any) => c.state))).toEqual(['open']);
  });

  it('a listener that throws goes to reportError (the page sees an error) and breaks nothing', async () => {
    hub = await startApp(WsHubModule.forRoot());
    const { page: p, errors } = await page();
    await connect(p, hub.url);
    await p.evaluate(() => {
      window.hub.on('news', () => {
        throw new Error('listener bug');
      });
      window.hub.on('news', (data: unknown) => window.got.push(data));
    });
    expect(hub.hub.broadcast('news', 1)).toBe(1);
    expect(hub.hub.broadcast('news', 2)).toBe(1);
    await p.waitForFunction(() => window.got.length === 2, undefined, { timeout: 3000 });
    expect(await p.evaluate(() => window.got)).toEqual([1, 2]);
    expect(errors).toEqual(['listener bug', 'listener bug']);
    expect(await stateOf(p)).toBe('open');
  });
});
