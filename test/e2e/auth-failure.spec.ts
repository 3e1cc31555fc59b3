import { describe, expect, it } from 'vitest';
import { closeAfterEach, startHub, type HubApp } from '../helpers/app.js';
import { sleep, TestClient } from '../helpers/client.js';

/**
 * `authFailure` (`'auto'` by default, `'http'`, `'close'`). `'close'`: a handshake refused for authentication (401) or origin (403) is
 * completed and closed at once with 4401 / 4403 before any other frame; load limits stay HTTP.
 */

const authenticate = (_req: unknown, { token }: { token?: string }) =>
  token === 'good' ? { userId: 'alice' } : null;

/** The HTTP status of a refused handshake, or 101 when it upgraded. */
async function status(client: TestClient): Promise<number> {
  try {
    await client.opened;
    return 101;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

describe('authFailure', () => {
  let h: HubApp | undefined;
  const clients = closeAfterEach(
    () => h,
    () => (h = undefined),
  );
  const open = (url: string, options?: Parameters<typeof TestClient.open>[1]) => {
    const c = TestClient.open(url, options);
    clients.push(c);
    return c;
  };

  it('"close" completes a refused authentication and closes it with 4401 before any frame', async () => {
    h = await startHub({ authFailure: 'close', authenticate });
    for (const url of [h.url, `${h.url}?token=bad`]) {
      const c = open(url, { protocols: ['ws-hub.v1', 'bearer.x'] });
      expect(await status(c)).toBe(101);
      expect(c.ws.protocol).toBe('ws-hub.v1');
      expect(await c.closed()).toBe(4401);
      expect(c.closeReason).toBe('unauthorized');
      expect(c.raw).toEqual([]);
    }
    expect(h.hub.stats().rejectedHandshakes).toEqual({ '401': 2 });
    expect(h.hub.online).toBe(0);
    expect(h.hub.clients()).toEqual([]);

    const good = await TestClient.welcomed(`${h.url}?token=good`);
    clients.push(good);
    expect(good.frames[0].data.userId).toBe('alice');
    expect(h.hub.online).toBe(1);
  });

  it('"close" closes a refused origin with 4403; frames sent meanwhile are ignored', async () => {
    h = await startHub({ authFailure: 'close', allowedOrigins: ['https://ok.example'] });
    const c = open(h.url, { origin: 'https://evil.example' });
    expect(await status(c)).toBe(101);
    // sent right after the upgrade, before the close arrives: never processed nor answered
    c.send({ event: 'message', id: 1, data: 'x' });
    c.send({ event: 'join', id: 2, data: { room: 'r' } });
    expect(await c.closed()).toBe(4403);
    expect(c.closeReason).toBe('forbidden origin');
    expect(c.raw).toEqual([]);
    expect(h.hub.rooms()).toEqual([]);
    expect(h.hub.stats().rejectedHandshakes).toEqual({ '403': 1 });
    const ok = await TestClient.welcomed(h.url, { origin: 'https://ok.example' });
    clients.push(ok);
  });

  it('"close" keeps load limits on HTTP: 429 before a refusal costs an upgrade', async () => {
    h = await startHub({
      authFailure: 'close',
      authenticate,
      allowedOrigins: ['https://ok.example'],
      maxConnectionsPerIp: 1,
    });
    const good = await TestClient.welcomed(`${h.url}?token=good`);
    clients.push(good);
    expect(await status(open(`${h.url}?token=bad`))).toBe(429);
    expect(await status(open(`${h.url}?token=good`, { origin: 'https://evil.example' }))).toBe(429);
    expect(h.hub.stats().rejectedHandshakes).toEqual({ '429': 2 });
  });

  it('"http" answers 401 and 403 without an upgrade, whatever the client offers', async () => {
    h = await startHub({
      authFailure: 'http',
      authenticate,
      allowedOrigins: ['https://ok.example'],
    });
    const v1 = { protocols: ['ws-hub.v1'] };
    expect(await status(open(`${h.url}?token=bad`, v1))).toBe(401);
    expect(
      await status(open(`${h.url}?token=good`, { ...v1, origin: 'https://evil.example' })),
    ).toBe(403);
    await sleep(20);
    expect(h.hub.stats().rejectedHandshakes).toEqual({ '401': 1, '403': 1 });
  });

  it('"auto" (the default): 4401 / 4403 for a client offering ws-hub.v1 (or ws-hub.recovery), HTTP 401 / 403 for others', async () => {
    h = await startHub({ authenticate, allowedOrigins: ['https://ok.example'] });
    expect(h.hub.options.authFailure).toBe('auto');
    const evil = { origin: 'https://evil.example' };
    for (const protocols of [['ws-hub.v1'], ['bearer.x', 'ws-hub.v1'], ['ws-hub.recovery']]) {
      const c = open(`${h.url}?token=bad`, { protocols });
      expect(await status(c)).toBe(101);
      expect(await c.closed()).toBe(4401);
      expect(c.raw).toEqual([]);
    }
    const o = open(`${h.url}?token=good`, { protocols: ['ws-hub.v1'], ...evil });
    expect(await status(o)).toBe(101);
    expect(await o.closed()).toBe(4403);
    // No subprotocol, or another one: a bare HTTP status, no upgrade.
    expect(await status(open(`${h.url}?token=bad`))).toBe(401);
    expect(await status(open(`${h.url}?token=bad`, { protocols: ['chat'] }))).toBe(401);
    expect(await status(open(`${h.url}?token=good`, evil))).toBe(403);
    await sleep(20);
    expect(h.hub.stats().rejectedHandshakes).toEqual({ '401': 5, '403': 2 });
  });

  it('refuses a bad authFailure value at startup, naming the option', async () => {
    await expect(startHub({ authFailure: 'ws' as never })).rejects.toThrow(
      'WsHubModule: option "authFailure" must be "auto", "http" or "close", got "ws"',
    );
  });
});
