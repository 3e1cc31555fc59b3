import { describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import {
  createHubClient,
  HubRequestError,
  type HubErrorData,
  type HubEventMap,
  type HubRoomReply,
  type HubWebSocketConstructor,
  type HubWelcome,
} from '../../../src/ws-hub/client/index.js';
import { FakeSocket } from './fake-socket.js';

// One interface per direction, shared by server and client.
interface ServerEvents {
  chat: { from: string; text: string };
  typing: { userId: string };
}
interface ClientEvents {
  message: { text: string };
  ping: undefined;
}
interface Replies {
  message: { text: string };
  ping: { ts: number };
}

// Compile-time checks (tsc -p tsconfig.json covers test/): these fail the typecheck if broken.
function typed() {
  const client = createHubClient<ServerEvents, ClientEvents, Replies>('ws://x', {
    WebSocket: FakeSocket,
  });
  client.on('chat', (data) => expectTypeOf(data).toEqualTypeOf<{ from: string; text: string }>());
  client.on('error', (error) => expectTypeOf(error.code).toBeString());
  // @ts-expect-error misspelt event
  client.on('chta', () => {});
  void client.send('message', { text: 'hi' });
  // @ts-expect-error wrong payload
  void client.send('message', { txt: 'hi' });
  // @ts-expect-error unknown client event
  void client.send('mesage', { text: 'hi' });
  // @ts-expect-error message needs its data in this map
  void client.send('message');
  expectTypeOf(client.request('ping')).toEqualTypeOf<Promise<{ ts: number }>>();
  expectTypeOf(client.join('a')).toEqualTypeOf<Promise<HubRoomReply>>();
  return client;
}

// An app map that says nothing of the built-in events (message, ping, join, leave).
interface AppEvents {
  chat: { room: string; text: string };
  typing: void;
  mark: { at: number } | undefined;
}
interface AppReplies {
  chat: { at: number };
}

function builtInsKept() {
  const client = createHubClient<ServerEvents, AppEvents, AppReplies>('ws://x', {
    WebSocket: FakeSocket,
  });
  // the built-in events keep their types next to the app's
  expectTypeOf(client.request('message', 'anything')).toEqualTypeOf<Promise<unknown>>();
  expectTypeOf(client.request('ping')).toEqualTypeOf<Promise<{ ts: number }>>();
  expectTypeOf(client.request('join', { room: 'a' })).toEqualTypeOf<Promise<HubRoomReply>>();
  expectTypeOf(client.request('leave', { room: 'a' })).toEqualTypeOf<Promise<HubRoomReply>>();
  // @ts-expect-error join needs its room
  void client.request('join');
  expectTypeOf(client.request('chat', { room: 'r', text: 't' })).toEqualTypeOf<
    Promise<{ at: number }>
  >();
  client.on('error', (error) => expectTypeOf(error).toEqualTypeOf<HubErrorData>());
  client.once('error', (error) => expectTypeOf(error.details).toBeUnknown());
  // data is required where the map's type requires it...
  // @ts-expect-error chat needs its data
  void client.send('chat');
  // @ts-expect-error chat needs its data (options do not count)
  void client.request('chat', undefined, { timeoutMs: 1 });
  void client.request('chat', { room: 'r', text: 't' }, { timeoutMs: 1 });
  // ...and optional where it accepts undefined (or is void)
  void client.send('typing');
  void client.send('mark');
  void client.send('mark', { at: 1 });
  void client.request('ping', undefined, { timeoutMs: 100 });
  // @ts-expect-error too many arguments
  void client.send('typing', undefined, undefined);
  expectTypeOf(client.send('typing')).toEqualTypeOf<Promise<void>>();
  expectTypeOf(client.ready()).toEqualTypeOf<Promise<HubWelcome>>();
  // once, off and onAny
  client.once('chat', (data) => expectTypeOf(data).toEqualTypeOf<{ from: string; text: string }>());
  // @ts-expect-error not an event of ServerEvents
  client.once('caht', () => {});
  const listener = (data: { from: string; text: string }) => void data;
  client.on('chat', listener);
  client.off('chat', listener);
  // @ts-expect-error not an event of ServerEvents
  client.off('caht', listener);
  client.onAny((event, data, replayed) => {
    expectTypeOf(event).toBeString();
    expectTypeOf(data).toBeUnknown();
    expectTypeOf(replayed).toEqualTypeOf<boolean | undefined>();
  });
  client.onRooms((rooms) => expectTypeOf(rooms).toEqualTypeOf<ReadonlySet<string>>());
  client.onTokenRefresh((r) => expectTypeOf(r.expiresAt).toEqualTypeOf<number | undefined>());
  expectTypeOf(client.tokenExpiresAt).toEqualTypeOf<number | undefined>();
  client.setToken('t');
  client.setToken(async () => 't');
  client.setToken(undefined);
  // the server's details travel with the error
  expectTypeOf(new HubRequestError('BAD_REQUEST', 'm', ['x']).details).toBeUnknown();
  return client;
}

function untyped() {
  const client = createHubClient('ws://x', { WebSocket: FakeSocket });
  client.on('anything', (data) => expectTypeOf(data).toBeAny());
  void client.send('whatever', 1);
  void client.send('whatever');
  expectTypeOf(client.request('whatever')).toEqualTypeOf<Promise<any>>();
  expectTypeOf(client.request('ping', undefined, { timeoutMs: 1 })).toEqualTypeOf<Promise<any>>();
  return client;
}

describe('types', () => {
  it('accept the ws package and the client maps', () => {
    const ctor: HubWebSocketConstructor = WsWebSocket;
    const maps: [HubEventMap, HubEventMap] = [{} as ServerEvents, {} as ClientEvents];
    expect(ctor).toBe(WsWebSocket);
    expect(maps).toHaveLength(2);
    expect(typeof typed).toBe('function');
    expect(typeof untyped).toBe('function');
    expect(typeof builtInsKept).toBe('function');
  });
});
