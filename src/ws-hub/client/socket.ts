// The socket's on* handlers, not addEventListener: they fit both the DOM's and ws's types
// structurally, and detach in one assignment.
/* oxlint-disable unicorn/prefer-add-event-listener */
import { BEARER_SUBPROTOCOL_PREFIX } from '../protocol/constants.js';
import type { HubWebSocket, HubWebSocketConstructor } from './types.js';

/**
 * The socket closed. `status` and `retryAfter`: the HTTP answer of a refused handshake, where the
 * socket shows it (Node's `ws`; browsers only see a 1006 close).
 */
export type SocketClosed = (
  code: number,
  reason: string,
  status?: number,
  retryAfter?: unknown,
) => void;

/**
 * Opens the socket of one attempt, offering `protocols` and the token as `bearer.<token>`;
 * `opened` when the handshake completes (the welcome frame is next), `message` for each frame.
 * Throws what the constructor throws (a bad URL, characters a token cannot have).
 */
export function openSocket(
  Socket: HubWebSocketConstructor,
  url: string,
  protocols: string[],
  token: string | undefined,
  closed: SocketClosed,
  message: (data: unknown) => void,
  opened: (socket: HubWebSocket) => void,
): HubWebSocket {
  const s = new Socket(url, token ? [...protocols, BEARER_SUBPROTOCOL_PREFIX + token] : protocols);
  let status: number | undefined;
  let retryAfter: unknown;
  // `ws` emits 'unexpected-response' for a handshake answered with an HTTP status and, when
  // someone listens, leaves aborting it to them.
  s.on?.('unexpected-response', (_request: unknown, response: any) => {
    status = response.statusCode;
    retryAfter = response.headers?.['retry-after'];
    s.close();
  });
  // `ws` emits 'error' before 'close' and throws when nobody listens: keep a listener forever.
  s.onerror = () => {};
  s.onclose = (event: { code: number; reason: string }) =>
    closed(event.code, event.reason || (status ? `HTTP ${status}` : ''), status, retryAfter);
  s.onmessage = (event: { data: unknown }) => message(event.data);
  s.onopen = () => opened(s);
  return s;
}
