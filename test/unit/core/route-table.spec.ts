import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { HubFrameDispatcher } from '../../../src/ws-hub/core/frame-dispatcher.js';
import { HubCounters } from '../../../src/ws-hub/core/hub-counters.js';
import { DuplicateHandlerError } from '../../../src/ws-hub/core/duplicate-handler.error.js';
import {
  RouteTable,
  RouteTier,
  type HubDirectHandler,
} from '../../../src/ws-hub/core/route-table.js';
import type { ClientReceiver } from '../../../src/ws-hub/core/connection.js';
import { resolveHubOptions } from '../../../src/ws-hub/options/resolve-options.js';
import { ClientEvent } from '../../../src/ws-hub/protocol/constants.js';

const BUILT_INS = Object.values(ClientEvent);

/** A dispatcher over a route table, recording what it sends. */
function setup(opening: ReadonlyMap<string, HubDirectHandler> = new Map()) {
  const sent: unknown[] = [];
  const dispatcher = new HubFrameDispatcher(
    resolveHubOptions({ rateLimit: false }),
    new HubCounters(),
    {
      deliverText: (_client, text) => (sent.push(JSON.parse(text)), true),
      closeClient: () => {},
    },
    opening,
  );
  const client = new Connection('i.c1', {} as never, 0, '127.0.0.1', { userId: 'u1' });
  const frame = (value: object, bound = new Map()) =>
    dispatcher.handleFrame(client, Buffer.from(JSON.stringify(value)), false, bound);
  return { routes: dispatcher.routes, client, sent, frame };
}

describe('RouteTable', () => {
  it('reserves every built-in event from the start, for handle() and for gateways', () => {
    const routes = new RouteTable();
    for (const event of BUILT_INS) {
      expect(routes.get(event)).toMatchObject({
        tier: RouteTier.BUILT_IN,
        owner: 'WsGateway (built in)',
      });
      expect(() => routes.handle(event, () => 1)).toThrow(
        `cannot handle event "${event}": WsGateway (built in) handles it`,
      );
      expect(() => routes.addGateways([{ event, owner: 'G.m' }])).toThrow(DuplicateHandlerError);
    }
    expect(routes.get('chat')).toBeUndefined();
  });

  it('names the built-ins after their declared handlers, and refuses other names as built-ins', () => {
    const routes = new RouteTable();
    routes.declareBuiltIns([
      { event: 'ping', owner: 'WsGateway.onPing', run: () => 'pong' },
      { event: 'recover', owner: 'ws-hub recovery (built in)' },
    ]);
    expect(() => routes.handle('ping', () => 1)).toThrow(
      'cannot handle event "ping": WsGateway.onPing handles it',
    );
    expect(() => routes.handle('recover', () => 1)).toThrow(
      /ws-hub recovery \(built in\) handles it/,
    );
    expect(() => routes.addGateways([{ event: 'ping', owner: 'Pinger.ping' }])).toThrow(
      'WsHubModule: event "ping" has two handlers, WsGateway.onPing and Pinger.ping; ' +
        'each event of the hub may have one handler (rename one of them)',
    );
    expect(() => routes.declareBuiltIns([{ event: 'chat', owner: 'X.chat' }])).toThrow(RangeError);
  });

  it('refuses an event two gateways take, naming both, and adds nothing then', () => {
    const routes = new RouteTable();
    const err = (() => {
      try {
        routes.addGateways([
          { event: 'chat', owner: 'ChatGateway.chat' },
          { event: 'typing', owner: 'ChatGateway.typing' },
          { event: 'chat', owner: 'OtherChat.other' },
        ]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DuplicateHandlerError);
    expect((err as Error).name).toBe('DuplicateHandlerError');
    expect((err as Error).message).toMatch(
      /event "chat" has two handlers, ChatGateway\.chat and OtherChat\.other/,
    );
    expect(routes.get('typing')).toBeUndefined();
    routes.addGateways([{ event: 'chat', owner: 'ChatGateway.chat' }]);
    expect(() => routes.addGateways([{ event: 'chat', owner: 'Late.chat' }])).toThrow(
      /ChatGateway\.chat and Late\.chat/,
    );
    expect(() => routes.handle('chat', () => 1)).toThrow(
      'cannot handle event "chat": ChatGateway.chat handles it',
    );
  });

  it('refuses a gateway taking an event given to handle(), after checking duplicates', () => {
    const routes = new RouteTable();
    routes.handle('whoami', () => 1);
    expect(() =>
      routes.addGateways([
        { event: 'whoami', owner: 'G.w' },
        { event: 'x', owner: 'A.x' },
        { event: 'x', owner: 'B.x' },
      ]),
    ).toThrow(DuplicateHandlerError);
    expect(() => routes.addGateways([{ event: 'whoami', owner: 'G.w' }])).toThrow(
      'WsHubModule: event "whoami" has two handlers, G.w and one given to HubService.handle()',
    );
    expect(routes.get('whoami')?.tier).toBe(RouteTier.HANDLE);
  });

  it('handle(): refuses empty names and a second handler; its remover removes only its own', () => {
    const routes = new RouteTable();
    expect(() => routes.handle('', () => 1)).toThrow('cannot handle event "": empty');
    expect(() => routes.handle(undefined as never, () => 1)).toThrow(/empty/);
    const off = routes.handle('a', () => 1);
    expect(() => routes.handle('a', () => 2)).toThrow('event "a" already has a handler');
    off();
    expect(routes.get('a')).toBeUndefined();
    const again = routes.handle('a', () => 3);
    off(); // the first remover: the second handler stays
    expect(routes.get('a')?.tier).toBe(RouteTier.HANDLE);
    again();
    expect(routes.get('a')).toBeUndefined();
  });
});

describe('RouteTable precedence (through the dispatcher)', () => {
  it('answers an opening route before the first-frame check, and refuses the rest until then', () => {
    const recover: HubDirectHandler = (_c, data) => ({ event: 'recovered', data });
    const { routes, client, sent, frame } = setup(new Map([['recover', recover]]));
    routes.handle('custom', () => 'c');
    const receiver: Partial<ClientReceiver> = { firstFrame: 'recover', hold: () => false };
    client.receiver = receiver as ClientReceiver;
    frame({ event: 'custom', id: 1 });
    frame({ event: 'nope', id: 2 });
    frame({ event: 'recover', id: 3, data: 'r' });
    expect(sent).toEqual([
      {
        event: 'error',
        id: 1,
        data: { code: 'BAD_ENVELOPE', message: 'the first frame must be "recover"' },
      },
      {
        event: 'error',
        id: 2,
        data: { code: 'BAD_ENVELOPE', message: 'the first frame must be "recover"' },
      },
      { event: 'recovered', id: 3, data: 'r' },
    ]);
  });

  it('built-ins: their handler on the fast path, else the socket’s Nest binding', () => {
    const { routes, client, sent, frame } = setup();
    routes.declareBuiltIns([
      { event: 'ping', owner: 'WsGateway.onPing', run: (c) => ({ event: 'pong', data: c.id }) },
    ]);
    const bound = new Map([['ping', () => ({ event: 'pong', data: 'through Nest' })]]);
    frame({ event: 'ping', id: 1 }, bound); // not told yet: through Nest
    routes.useBuiltInsDirectly(true);
    frame({ event: 'ping', id: 2 }, bound);
    routes.useBuiltInsDirectly(false);
    frame({ event: 'ping', id: 3 }, bound);
    expect(sent).toEqual([
      { event: 'pong', id: 1, data: 'through Nest' },
      { event: 'pong', id: 2, data: client.id },
      { event: 'pong', id: 3, data: 'through Nest' },
    ]);
  });

  it('then the app gateways’ bindings, then handle() handlers, then UNKNOWN_EVENT', () => {
    const { routes, sent, frame } = setup();
    routes.addGateways([{ event: 'chat', owner: 'ChatGateway.chat' }]);
    routes.handle('whoami', (ctx) => ({ event: 'you', data: ctx.clientId }));
    const bound = new Map([['chat', (data: unknown) => ({ event: 'posted', data })]]);
    frame({ event: 'chat', id: 1, data: 'hi' }, bound);
    frame({ event: 'whoami', id: 2 }, bound);
    frame({ event: 'who', id: 3 }, bound);
    frame({ event: 'message', id: 4 }, bound); // reserved, no handler declared: unknown
    expect(sent).toEqual([
      { event: 'posted', id: 1, data: 'hi' },
      { event: 'you', id: 2, data: 'i.c1' },
      { event: 'error', id: 3, data: { code: 'UNKNOWN_EVENT', message: 'unknown event "who"' } },
      {
        event: 'error',
        id: 4,
        data: { code: 'UNKNOWN_EVENT', message: 'unknown event "message"' },
      },
    ]);
  });
});
