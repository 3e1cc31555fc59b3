import { Inject, Module, type INestApplication, type OnModuleDestroy } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConnectedSocket,
  SubscribeMessage,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  HubGateway,
  HubService,
  hubClientOf,
  WsHubModule,
  type WsHubModuleOptions,
} from '../../src/ws-hub/index.js';
import { sleep, TestClient, waitFor, type Frame } from '../helpers/client.js';
import { PROTOCOLS, Recovering } from '../helpers/recovering-client.js';

/**
 * Issue 16, item 7: an app gateway on the hub's endpoint sees only connections the hub
 * accepted, after their welcome (after the `recover` exchange, under the resumed client id).
 */

interface HookCall {
  hook: 'connect' | 'disconnect';
  /** The hub's client id as the app sees it (`hubClientOf(socket)` at connect time). */
  id: string | undefined;
}

const calls: HookCall[] = [];
/** The id each socket was seen with at connect time: handleDisconnect reports it. */
const seen = new WeakMap<object, string | undefined>();

/** An app gateway that greets every connection twice: on its socket, and through the hub. */
@HubGateway()
class GreeterGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  constructor(@Inject(HubService) private readonly hub: HubService) {}

  handleConnection(socket: WebSocket) {
    const id = hubClientOf(socket as never)?.id;
    calls.push({ hook: 'connect', id });
    seen.set(socket, id);
    socket.send(JSON.stringify({ event: 'hello-socket', data: { id } }));
    if (id) this.hub.send(id, 'hello-hub', { id });
  }

  handleDisconnect(socket: WebSocket) {
    calls.push({ hook: 'disconnect', id: seen.has(socket) ? seen.get(socket) : 'never-seen' });
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() socket: WebSocket) {
    return { event: 'you', data: { id: hubClientOf(socket as never)?.id } };
  }

  onModuleDestroy() {
    calls.length = 0;
  }
}

const arrowCalls: string[] = [];

/** The same hooks written as arrow-function properties (instance fields, not methods). */
@HubGateway()
class ArrowHooksGateway implements OnGatewayConnection, OnGatewayDisconnect {
  handleConnection = (socket: WebSocket) => {
    arrowCalls.push('connect');
    socket.send(JSON.stringify({ event: 'arrow-hello' }));
  };

  handleDisconnect = () => {
    arrowCalls.push('disconnect');
  };
}

interface Started {
  app: INestApplication;
  hub: HubService;
  url: string;
}

async function start(
  options: WsHubModuleOptions,
  providers: unknown[] = [GreeterGateway],
): Promise<Started> {
  @Module({ imports: [WsHubModule.forRoot(options)], providers: providers as never })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { app, hub: app.get(HubService), url: `ws://127.0.0.1:${port}/ws` };
}

const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token }) =>
  token === 'good' ? { userId: 'ann' } : null;

/** Index of the first frame called `event` (-1 when none). */
const indexOf = (c: TestClient, event: string) => c.frames.findIndex((f) => f.event === event);

describe("an app gateway's connection hooks (issue 16, item 7)", () => {
  let s: Started | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await s?.app.close();
    s = undefined;
    calls.length = 0;
    arrowCalls.length = 0;
  });
  const track = <T extends TestClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  it('authFailure "close": never calls handleConnection/handleDisconnect for a socket refused with 4401 or 4403', async () => {
    s = await start({ authFailure: 'close', authenticate, allowedOrigins: ['https://ok.example'] });
    const badToken = track(TestClient.open(`${s.url}?token=bad`));
    expect(await badToken.closed()).toBe(4401);
    const badOrigin = track(
      TestClient.open(`${s.url}?token=good`, { origin: 'https://evil.example' }),
    );
    expect(await badOrigin.closed()).toBe(4403);
    // the refused sockets heard nothing, the app's greeting included
    expect(badToken.raw).toEqual([]);
    expect(badOrigin.raw).toEqual([]);

    // An accepted connection afterwards: its hooks run (so the ones above would have by now).
    const good = track(await TestClient.welcomed(`${s.url}?token=good`));
    await good.next((f) => f.event === 'hello-hub');
    await good.close();
    await waitFor(() => calls.length === 2);
    await sleep(50);
    expect(calls).toEqual([
      { hook: 'connect', id: good.id },
      { hook: 'disconnect', id: good.id },
    ]);
  });

  it('authFailure "close": the same for hooks written as arrow-function properties', async () => {
    s = await start({ authFailure: 'close', authenticate }, [ArrowHooksGateway]);
    const refused = track(TestClient.open(`${s.url}?token=bad`));
    expect(await refused.closed()).toBe(4401);
    expect(refused.raw).toEqual([]);
    const good = track(await TestClient.welcomed(`${s.url}?token=good`));
    await good.next((f) => f.event === 'arrow-hello');
    expect(good.frames.map((f) => f.event)).toEqual(['welcome', 'arrow-hello']);
    await good.close();
    await waitFor(() => arrowCalls.includes('disconnect'));
    await sleep(50);
    expect(arrowCalls).toEqual(['connect', 'disconnect']);
  });

  it('greets after the welcome, with the welcomed id (no recovery)', async () => {
    s = await start({});
    const c = track(await TestClient.welcomed(s.url));
    await c.next((f) => f.event === 'hello-hub');
    await c.next((f) => f.event === 'hello-socket');
    expect(
      c.frames
        .map((f) => f.event)
        .slice(0, 3)
        .sort(),
    ).toEqual(['hello-hub', 'hello-socket', 'welcome'].sort());
    expect(indexOf(c, 'welcome')).toBe(0);
    expect(c.events('hello-socket')).toEqual([{ event: 'hello-socket', data: { id: c.id } }]);
    expect(c.events('hello-hub')).toEqual([{ event: 'hello-hub', data: { id: c.id } }]);
  });

  it('recovery: greets after the welcome, and after a resume with the resumed id', async () => {
    s = await start({ recovery: true });
    const r = new Recovering();
    const first = await r.connect(s.url);
    clients.push(r.c);
    const firstId = first.data.clientId as string;
    await r.c.next((f) => f.event === 'hello-hub');
    await r.c.next((f) => f.event === 'hello-socket');
    expect(indexOf(r.c, 'welcome')).toBe(0);
    expect(r.c.events('hello-socket')[0].data).toEqual({ id: firstId });
    expect(r.c.events('hello-hub')[0].data).toEqual({ id: firstId });

    // Cut without a close frame, then resume the session.
    r.c.terminate();
    await waitFor(() => s!.hub.online === 0);
    const second = await r.connect(s.url);
    clients.push(r.c);
    expect(second.data.recovery.recovered).toBe(true);
    expect(second.data.clientId).toBe(firstId);
    await r.c.next((f) => f.event === 'hello-hub');
    await r.c.next((f) => f.event === 'hello-socket');
    expect(indexOf(r.c, 'welcome')).toBe(0);
    expect(r.c.events('hello-socket')[0].data).toEqual({ id: firstId });
    expect(r.c.events('hello-hub')[0].data).toEqual({ id: firstId });
    await waitFor(() => calls.length === 3);
    expect(calls).toEqual([
      { hook: 'connect', id: firstId },
      { hook: 'disconnect', id: firstId },
      { hook: 'connect', id: firstId },
    ]);
  });

  it('recovery: a socket that leaves before its "recover" is never shown to the app', async () => {
    s = await start({ recovery: true });
    const c = track(await TestClient.connect(s.url, { protocols: PROTOCOLS }));
    await sleep(30);
    await c.close();
    const ok = new Recovering();
    await ok.connect(s.url);
    clients.push(ok.c);
    await ok.c.next((f) => f.event === 'hello-hub');
    expect(c.raw).toEqual([]);
    expect(calls).toEqual([{ hook: 'connect', id: ok.clientId }]);
  });

  it('recovery: a frame sent right behind "recover" is answered after the welcome, under the resumed id', async () => {
    s = await start({ recovery: true });
    s.hub.handle('whoami-handle', (ctx) => ({ event: 'you', data: { id: ctx.clientId } }));
    const r = new Recovering();
    const first = await r.connect(s.url);
    const firstId = first.data.clientId as string;
    r.c.terminate();
    await waitFor(() => s!.hub.online === 0);
    // A client that does not wait for the welcome: `recover` and an app event in one go.
    const c = track(await TestClient.connect(s.url, { protocols: PROTOCOLS }));
    c.send({
      event: 'recover',
      id: 'r',
      data: { session: r.session, streams: Object.fromEntries(r.positions) },
    });
    // through an app gateway, through HubService.handle, and the built-in echo
    c.send({ event: 'whoami', id: 'gateway' });
    c.send({ event: 'whoami-handle', id: 'handle' });
    c.send({ event: 'message', id: 'ack', data: 1 });
    const welcome = await c.next((f) => f.event === 'welcome');
    expect(welcome.data.clientId).toBe(firstId);
    for (const id of ['gateway', 'handle', 'ack']) {
      const answer: Frame = await c.next((f) => f.id === id);
      expect(c.frames.indexOf(answer), `answer to ${id}`).toBeGreaterThan(indexOf(c, 'welcome'));
      if (id !== 'ack') expect(answer.data, `answer to ${id}`).toEqual({ id: firstId });
    }
  });
});
