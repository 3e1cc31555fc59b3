import { describe, expect, it, vi } from 'vitest';
import { openSocket } from '../../../src/ws-hub/client/socket.js';
import { FakeSocket, FakeWsSocket } from './fake-socket.js';

function open(Socket: typeof FakeSocket, token?: string) {
  const closed = vi.fn();
  const message = vi.fn();
  const opened = vi.fn();
  const socket = openSocket(Socket, 'ws://x/ws', ['ws-hub.v1'], token, closed, message, opened);
  return { socket: socket as FakeSocket, closed, message, opened };
}

describe('openSocket', () => {
  it('offers the protocols and the token as bearer.<token>, and wires the handlers', () => {
    const { socket, closed, message, opened } = open(FakeSocket, 'abc');
    expect(socket.protocols).toEqual(['ws-hub.v1', 'bearer.abc']);
    expect(open(FakeSocket).socket.protocols).toEqual(['ws-hub.v1']);
    socket.open();
    expect(opened).toHaveBeenCalledWith(socket);
    socket.push({ event: 'x' });
    expect(message).toHaveBeenCalledWith('{"event":"x"}');
    socket.drop(1001, 'bye');
    expect(closed).toHaveBeenCalledWith(1001, 'bye', undefined, undefined);
  });

  it('keeps an error listener (ws throws on an error nobody listens to)', () => {
    const { socket } = open(FakeSocket);
    expect(() => socket.onerror!({ message: 'boom' })).not.toThrow();
  });

  it('with ws: reads the status and Retry-After of a refused handshake, aborts it, reports both', () => {
    const { socket, closed } = open(FakeWsSocket);
    const ws = socket as FakeWsSocket;
    expect([...ws.listeners.keys()]).toEqual(['unexpected-response']);
    ws.refuse(503, { 'retry-after': '3' });
    expect(socket.closedWith).toEqual({ code: undefined, reason: undefined }); // aborted
    expect(closed).toHaveBeenCalledWith(1006, 'HTTP 503', 503, '3');
  });

  it('a close reason from the server wins over the HTTP status text', () => {
    const { socket, closed } = open(FakeWsSocket);
    socket.drop(4401, 'unauthorized');
    expect(closed).toHaveBeenCalledWith(4401, 'unauthorized', undefined, undefined);
  });

  it('throws what the constructor throws', () => {
    class Throwing extends FakeSocket {
      constructor() {
        super('');
        throw new SyntaxError('invalid url');
      }
    }
    expect(() => open(Throwing)).toThrow('invalid url');
  });
});
