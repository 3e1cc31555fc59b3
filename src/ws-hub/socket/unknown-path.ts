import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** The answer to an upgrade whose URL cannot be read (a bad `Host` header). */
const BAD_REQUEST =
  'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n' +
  'Content-Length: 13\r\n\r\nbad request\r\n';

/** The answer to an upgrade on a path no WebSocket gateway serves. */
const NOT_FOUND =
  'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n' +
  'Content-Length: 36\r\n\r\nno WebSocket endpoint at this path\r\n';

/**
 * Answers HTTP 404 to an upgrade whose path matches no gateway's and returns true; false (and
 * leaves the socket alone) when a gateway serves the path, or when the HTTP server has other
 * upgrade listeners than `ours` (the app's own, which may answer it). A URL Nest could not
 * read (it builds it on the `Host` header) is answered 400 here, well formed.
 */
export function answerUnknownPath(
  server: Server,
  ours: (...args: never[]) => void,
  request: IncomingMessage,
  socket: Duplex,
  gateways: readonly { path: string }[],
): boolean {
  let pathname: string;
  try {
    pathname = new URL(request.url ?? '/', 'ws://' + request.headers.host + '/').pathname;
  } catch {
    socket.end(BAD_REQUEST);
    socket.once('error', () => undefined);
    return true;
  }
  if (gateways.some((g) => g.path === pathname)) return false;
  if (server.listeners('upgrade').some((l) => l !== ours)) return true;
  socket.end(NOT_FOUND);
  socket.once('error', () => undefined);
  return true;
}
