import 'reflect-metadata';
import { Controller, DynamicModule, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach } from 'vitest';
import { HubService, WsHubModule, type WsHubModuleOptions } from '../../src/ws-hub/index.js';
import type { TestClient } from './client.js';

export interface HubApp {
  app: INestApplication;
  hub: HubService;
  /** ws://127.0.0.1:<port><path> */
  url: string;
  port: number;
  close(): Promise<void>;
}

@Controller()
class EmptyController {}

/** Builds a Nest app around `hubModule` and listens on an ephemeral port of 127.0.0.1. */
export async function startApp(
  hubModule: DynamicModule,
  path = '/ws',
  extra: DynamicModule[] = [],
): Promise<HubApp> {
  @Module({ imports: [hubModule, ...extra], controllers: [EmptyController] })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  app.enableShutdownHooks = app.enableShutdownHooks.bind(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const hub = app.get(HubService);
  let closed = false;
  return {
    app,
    hub,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}${path}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** Shorthand: an app with `WsHubModule.forRoot(options)`. */
export function startHub(options: WsHubModuleOptions = {}): Promise<HubApp> {
  return startApp(WsHubModule.forRoot(options), options.path ?? '/ws');
}

/**
 * Registers the usual per-test cleanup inside a `describe`: terminates the clients pushed to the
 * returned list and closes the app `getApp()` returns, even when the test failed.
 */
export function closeAfterEach(getApp: () => HubApp | undefined, reset: () => void): TestClient[] {
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await getApp()?.close();
    reset();
  });
  return clients;
}

/**
 * Writes `{event, data}` to a client's socket as the server would, bypassing `HubService`,
 * which refuses the protocol's own event names (`expiring`, `joined`, ...): for tests that play
 * the server's part of the protocol at a moment they choose.
 */
export function sendProtocolFrame(
  hub: HubService,
  clientId: string,
  event: string,
  data?: unknown,
): boolean {
  const core = (hub as unknown as { hub: { registry: { get(id: string): unknown } } }).hub;
  const client = core.registry.get(clientId) as
    { socket: { send(text: string): void } } | undefined;
  client?.socket.send(JSON.stringify({ event, data }));
  return client !== undefined;
}
