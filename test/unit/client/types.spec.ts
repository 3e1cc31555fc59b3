import { describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import {
  createHubClient,
  type HubEventMap,
  type HubWebSocketConstructor,
  type HubRoomReply,
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
  client.send('message', { text: 'hi' });
  // @ts-expect-error wrong payload
  client.send('message', { txt: 'hi' });
  // @ts-expect-error unknown client event
  client.send('mesage', { text: 'hi' });
  expectTypeOf(client.request('ping')).toEqualTypeOf<Promise<{ ts: number }>>();
  expectTypeOf(client.join('a')).toEqualTypeOf<Promise<HubRoomReply>>();
  return client;
}

function untyped() {
  const client = createHubClient('ws://x', { WebSocket: FakeSocket });
  client.on('anything', (data) => expectTypeOf(data).toBeAny());
  client.send('whatever', 1);
  expectTypeOf(client.request('whatever')).toEqualTypeOf<Promise<any>>();
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
  });
});
