import 'reflect-metadata';
import {
  Controller,
  DynamicModule,
  Module,
  type INestApplication,
  type Provider,
} from '@nestjs/common';
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

/**
 * Builds a Nest app around `hubModule` (with the app's own `providers`, e.g. its gateways) and
 * listens on 127.0.0.1, on `port` (0: an ephemeral one).
 */
export async function startApp(
  hubModule: DynamicModule,
  path = '/ws',
  extra: DynamicModule[] = [],
  { port = 0, providers = [] }: { port?: number; providers?: Provider[] } = {},
): Promise<HubApp> {
  @Module({ imports: [hubModule, ...extra], controllers: [EmptyController], providers })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  app.enableShutdownHooks = app.enableShutdownHooks.bind(app);
  await app.listen(port, '127.0.0.1');
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
 * `startHub` on a given port, so that a test can restart the hub where its clients expect it;
 * `providers`: the app's gateways.
 */
export function startHubOn(
  port: number,
  options: WsHubModuleOptions = {},
  providers: Provider[] = [],
): Promise<HubApp> {
  return startApp(WsHubModule.forRoot(options), options.path ?? '/ws', [], { port, providers });
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
