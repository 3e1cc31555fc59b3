// Runs the README's option snippets that the Testing section does not: `forRootAsync` with
// values from the environment (strings) and JWT authentication, `useClass` with a
// `WsHubOptionsFactory`, and the health controller.
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { TerminusModule } from '@nestjs/terminus';
import { WsHubModule } from 'ws-hub';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const apps: INestApplication[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** Starts `module` on a free port; its base URL. */
async function start(module: object): Promise<string> {
  // abortOnError: false, so that a failing startup fails the test instead of exiting.
  const app = await NestFactory.create(module, { logger: ['error', 'warn'], abortOnError: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return app.getUrl();
}

/**
 * The welcome's data, the HTTP status of a refused handshake, or the close code of a refusal
 * after the upgrade (`authFailure: 'auto'` refuses a client offering `ws-hub.v1` with 4401);
 * the socket is closed.
 */
function handshake(
  url: string,
  protocols: string[],
): Promise<{ welcome?: Record<string, unknown>; status?: number; code?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on('error', reject);
    let answered = false;
    ws.once('close', (code) => {
      if (!answered) resolve({ code });
    });
    ws.once('message', (data) => {
      answered = true;
      const frame = JSON.parse(String(data)) as { event: string; data: Record<string, unknown> };
      ws.once('close', () => resolve(frame.event === 'welcome' ? { welcome: frame.data } : {}));
      ws.close();
    });
    ws.on('unexpected-response', (request, response) => {
      response.resume();
      request.destroy();
      resolve({ status: response.statusCode });
    });
  });
}

describe('README options', () => {
  it('forRootAsync: numbers from environment strings, a JWT from @nestjs/jwt', async () => {
    process.env['WS_PATH'] = '/live';
    process.env['WS_PING_MS'] = '5000';
    process.env['WS_ORIGINS'] = 'https://app.example.com';
    process.env['JWT_SECRET'] = 'readme-secret';
    const { AppModule } = await import('../config.app.module.js');
    const url = (await start(AppModule)).replace('http', 'ws') + '/live';
    const token = await new JwtService({ secret: 'readme-secret' }).signAsync({
      sub: 'user-7',
      roles: ['admin'],
    });

    const { welcome } = await handshake(url, ['ws-hub.v1', `bearer.${token}`]);
    expect(welcome).toMatchObject({ userId: 'user-7', pingIntervalMs: 5000 });
    const forged = await new JwtService({ secret: 'other' }).signAsync({ sub: 'user-7' });
    expect(await handshake(url, ['ws-hub.v1', `bearer.${forged}`])).toEqual({ code: 4401 });
  });

  it('useClass: a WsHubOptionsFactory reading ConfigService', async () => {
    process.env['WS_PATH'] = '/hub';
    process.env['WS_PING_MS'] = '7000';
    const { HubModule } = await import('../hub.module.js');
    const url = (await start(HubModule)).replace('http', 'ws') + '/hub';

    const { welcome } = await handshake(url, ['ws-hub.v1']);
    expect(welcome).toMatchObject({ pingIntervalMs: 7000 });
  });

  it('the health controller answers 200 with the hub up', async () => {
    const { HealthController } = await import('../health.controller.js');
    @Module({ imports: [WsHubModule.forRoot(), TerminusModule], controllers: [HealthController] })
    class HealthAppModule {}
    const base = await start(HealthAppModule);

    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ok',
      info: { 'ws-hub': { status: 'up', online: 0 } },
    });
  });
});
