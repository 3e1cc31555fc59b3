import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WsHubModule } from '../../src/ws-hub/index.js';
import { HTTP_CLOSE_WARN_MS } from '../../src/ws-hub/module/hub-lifecycle.js';
import { sleep, waitFor } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * Issue 19, item 1: a keep-alive HTTP connection busy when the app shuts down keeps the process
 * answering on it while Nest waits for it to close. The hub says so; Nest's
 * `forceCloseConnections` and `return503OnClosing` (the README's main.ts) prevent it.
 */

@Controller()
class StatsController {
  /** A little slow, so that a poller's keep-alive connection is nearly always busy. */
  @Get('stats')
  async stats() {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { ok: true };
  }

  /** A long request (a report, a download): busy for longer than the warning's delay. */
  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, HTTP_CLOSE_WARN_MS + 1_000));
    return { ok: true };
  }
}

@Module({ imports: [WsHubModule.forRoot()], controllers: [StatsController] })
class AppModule {}

let app: INestApplication | undefined;
let poller: { stop(): void } | undefined;
afterEach(async () => {
  poller?.stop();
  await app?.close().catch(() => undefined);
  app = undefined;
});

async function start(options: { forceCloseConnections?: boolean; return503OnClosing?: boolean }) {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'], ...options });
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as { port: number }).port;
}

/** Polls GET /stats back to back on one keep-alive connection (a busy page), recording statuses. */
function poll(port: number, path = '/stats') {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const statuses: (number | string)[] = [];
  let stopped = false;
  const once = () => {
    if (stopped) return;
    const req = request({ port, host: '127.0.0.1', path, agent }, (res) => {
      statuses.push(res.statusCode!);
      res.resume();
      res.on('end', () => setTimeout(once, 5));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      statuses.push(err.code ?? 'error');
      setTimeout(once, 50);
    });
    req.end();
  };
  once();
  return {
    statuses,
    stop() {
      stopped = true;
      agent.destroy();
    },
  };
}

describe('shutdown with HTTP keep-alive clients', () => {
  it('without forceCloseConnections: a busy connection keeps the process answering, and the hub warns once', async () => {
    // Node closes idle keep-alive connections on close; one busy with a request past
    // HTTP_CLOSE_WARN_MS keeps the stopping process serving it.
    const logs = captureLogs(/HTTP connection/);
    const port = await start({});
    const p = (poller = poll(port, '/slow'));
    await sleep(100); // the first request is in flight
    const closing = app!.close();
    await waitFor(() => logs.warnings().length === 1, HTTP_CLOSE_WARN_MS + 2_000);
    expect(logs.warnings()[0]).toMatch(
      /^shutdown waits for 1 HTTP connection\(s\) still open: .*forceCloseConnections: true/,
    );
    // The stopping process still answers 200 on that connection: what the warning is about.
    await waitFor(() => p.statuses.includes(200), 3_000);
    p.stop();
    await closing;
    app = undefined;
    expect(logs.warnings()).toHaveLength(1);
  });

  it("with the README's options (forceCloseConnections, return503OnClosing): closed at once, no warning", async () => {
    const logs = captureLogs(/HTTP connection/);
    const port = await start({ forceCloseConnections: true, return503OnClosing: true });
    const p = (poller = poll(port));
    await waitFor(() => p.statuses.length >= 2);
    const t0 = performance.now();
    await app!.close();
    app = undefined;
    expect(performance.now() - t0).toBeLessThan(HTTP_CLOSE_WARN_MS);
    await sleep(HTTP_CLOSE_WARN_MS + 200);
    expect(logs.warnings()).toEqual([]);
    // Nothing answers 200 after the close: the connection was cut (or told 503, Connection: close).
    const after = p.statuses.length;
    await sleep(200);
    expect(p.statuses.slice(after).every((s) => s !== 200)).toBe(true);
  });
});
