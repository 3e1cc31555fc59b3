import { existsSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo } from '../helpers/demo.js';

// The page functions below run in the browser; this is all of the DOM they use.
declare const document: { getElementById(id: string): { textContent: string | null } | null };

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`demo page browser test skipped: ${CHROMIUM} not found (apt-get install chromium)`);
}

describe.skipIf(!hasChromium)('demo web page in headless Chromium', () => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => {
    const demo = await startDemo({ HUB_AUTH_TOKENS: 'tok-a:alice,tok-b:bob' });
    app = demo.app;
    base = demo.base;
  });
  afterAll(async () => app?.close());

  it('connects two tabs with tokens, acks, broadcasts to everyone and to a room', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const context = await browser.newContext();
      const [a, b] = [await context.newPage(), await context.newPage()];
      for (const [page, token] of [
        [a, 'tok-a'],
        [b, 'tok-b'],
      ] as const) {
        await page.goto(`${base}/`);
        await page.fill('#token', token);
        await page.click('#reconnect');
        await page.waitForFunction(
          () =>
            document.getElementById('state')!.textContent === 'open' &&
            document.getElementById('clientId')!.textContent !== '-',
        );
      }
      expect(await a.textContent('#userId')).toBe('alice');
      expect(await b.textContent('#userId')).toBe('bob');

      await a.click('#send');
      await a.waitForFunction(() => document.getElementById('ack')!.textContent!.includes('"ack"'));
      expect(JSON.parse((await a.textContent('#ack'))!)).toMatchObject({
        event: 'ack',
        data: 'hello',
      });

      for (const page of [a, b]) {
        await page.click('#join');
        await page.waitForFunction(() => document.getElementById('rooms')!.textContent === 'lobby');
      }
      await a.fill('#broadcast', 'hello from A');
      await a.click('#broadcastAll');
      await b.waitForFunction(() =>
        document.getElementById('log')!.textContent!.includes('hello from A'),
      );
      await b.fill('#broadcast', 'to the lobby');
      await b.click('#broadcastRoom');
      await a.waitForFunction(() =>
        document.getElementById('log')!.textContent!.includes('to the lobby'),
      );

      // one socket per tab: the online count and the number of copies received agree
      await a.waitForFunction(() => document.getElementById('online')!.textContent === '2', null, {
        timeout: 5000,
      });
      const log = (await b.textContent('#log'))!;
      expect(log.split('hello from A').length - 1).toBe(1);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
