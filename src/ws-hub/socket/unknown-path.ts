import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** The answer to an upgrade on a path no WebSocket gateway serves. */
const NOT_FOUND =
  'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n' +
  'Content-Length: 36\r\n\r\nno WebSocket endpoint at this path\r\n';

/**
 * Answers HTTP 404 to an upgrade whose path matches no gateway's and returns true; false (and
 * leaves the socket alone) when a gateway serves the path, or when the HTTP server has other
 * upgrade listeners than `ours` (the app's own, which may answer it). An unparsable URL is left
 * to Nest's listener, which answers 400.
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
    pathname = new URL(request.url ?? '/', 'ws://localhost').pathname;
  } catch {
    return false;
  }
  if (gateways.some((g) => g.path === pathname)) return false;
  if (server.listeners('upgrade').some((l) => l !== ours)) return true;
  socket.end(NOT_FOUND);
  socket.once('error', () => undefined);
  return true;
}
