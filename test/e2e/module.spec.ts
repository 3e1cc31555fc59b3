import {
  CallHandler,
  Controller,
  ExecutionContext,
  Inject,
  Module,
  Optional,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { WsAdapter } from '@nestjs/platform-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { HubService, WsHubModule, WsHubSocketAdapter } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient } from '../helpers/client.js';
import { captureLogs } from '../helpers/logs.js';
import type { HubCore } from '../../src/ws-hub/core/hub-core.js';
import { WS_HUB_CORE } from '../../src/ws-hub/core/tokens.js';

@Controller()
class UsesHub {
  constructor(@Optional() @Inject(HubService) readonly hub?: HubService) {}
}

@Module({ controllers: [UsesHub] })
class FeatureModule {}

describe('WsHubModule', () => {
  let h: HubApp | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('makes HubService injectable in every module by default', async () => {
    const ref = await Test.createTestingModule({
      imports: [WsHubModule.forRoot(), FeatureModule],
    }).compile();
    expect(ref.get(UsesHub).hub).toBeInstanceOf(HubService);
    await ref.close();
  });

  it('keeps HubService to importing modules with isGlobal: false', async () => {
    const ref = await Test.createTestingModule({
      imports: [WsHubModule.forRoot({ isGlobal: false }), FeatureModule],
    }).compile();
    expect(ref.get(UsesHub).hub).toBeUndefined();
    expect(ref.get(HubService)).toBeInstanceOf(HubService);
    await ref.close();
  });

  it('works with the adapter passed explicitly', async () => {
    const ref = await Test.createTestingModule({ imports: [WsHubModule.forRoot()] }).compile();
    const app = ref.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new WsHubSocketAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const c = await TestClient.welcomed(`ws://127.0.0.1:${port}/ws`);
    c.send('bad');
    expect((await c.next((f) => f.event === 'error')).data.code).toBe('BAD_JSON');
    await app.close();
  });

  it("refuses to start on Nest's plain WsAdapter, which would drop bad frames silently", async () => {
    const ref = await Test.createTestingModule({ imports: [WsHubModule.forRoot()] }).compile();
    const app = ref.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(/WsHubSocketAdapter/);
    await app.close();
  });

  it('fails app startup with a message naming a wrong option', async () => {
    await expect(startHub({ pingIntervalMs: -1 })).rejects.toThrow(
      /option "pingIntervalMs" must be a positive integer/,
    );
  });

  it('survives a failure while registering a connection (no uncaughtException)', async () => {
    const logs = captureLogs(/registering a client failed/);
    h = await startHub();
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    const core = h.app.get<HubCore>(WS_HUB_CORE);
    const original = core.register.bind(core);
    core.register = () => {
      throw new Error('registry exploded');
    };
    try {
      const c = await TestClient.connect(h.url);
      expect(await c.closed()).toBe(1011);
      core.register = original;
      const ok = await TestClient.welcomed(h.url);
      expect(await ok.request({ event: 'message', id: 1, data: 1 })).toMatchObject({
        event: 'ack',
      });
      ok.terminate();
      expect(uncaught).toEqual([]);
      expect(logs.errors()).toEqual(['registering a client failed: registry exploded']);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('runs frames through Nest global guards and interceptors when the app has them', async () => {
    const seen: string[] = [];
    const ref = await Test.createTestingModule({ imports: [WsHubModule.forRoot()] }).compile();
    const app = ref.createNestApplication({ logger: false });
    app.useGlobalInterceptors({
      intercept(ctx: ExecutionContext, next: CallHandler) {
        seen.push(ctx.switchToWs().getPattern());
        return next.handle();
      },
    });
    app.useGlobalGuards({
      canActivate(ctx: ExecutionContext) {
        const data = ctx.switchToWs().getData() as { secret?: boolean } | undefined;
        return !data?.secret;
      },
    });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const c = await TestClient.welcomed(`ws://127.0.0.1:${port}/ws`);
    try {
      expect(await c.request({ event: 'message', id: 1, data: { hello: 1 } })).toEqual({
        event: 'ack',
        id: 1,
        data: { hello: 1 },
      });
      expect(await c.request({ event: 'ping', id: 2 })).toMatchObject({ event: 'pong', id: 2 });
      expect(await c.request({ event: 'message', id: 3, data: { secret: true } })).toEqual({
        event: 'error',
        id: 3,
        data: { code: 'FORBIDDEN', message: 'Forbidden resource' },
      });
      expect(seen).toEqual(['message', 'ping']);
    } finally {
      c.terminate();
      await app.close();
    }
  });
});
