import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'ws';
import type { ConnectionInfo } from '../core/connection.js';
import type {
  HubAuthenticateFn,
  HubHandshakeContext,
  HubPrincipal,
} from '../interfaces/options.interface.js';
import { hubLogger } from '../util/logger.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { errorText } from '../util/error-text.js';
import { LogBudget } from '../core/log-budget.js';
import { redactedError } from './redact.js';
import { HandshakeAdmission } from './admission.js';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  CloseCode,
  HUB_SUBPROTOCOL,
  RECOVERY_SUBPROTOCOL,
} from '../protocol/constants.js';

/** Where the handshake leaves what it decided on the upgrade request. */
export const kHandshake = Symbol('ws-hub.handshake');

/** Where a handshake refused with `authFailure: 'close'` leaves the close it must get. */
export const kRefused = Symbol('ws-hub.refused');

/** The application close of a refused handshake (`authFailure: 'close'`). */
interface HandshakeRefusal {
  code: number;
  reason: string;
}

/** An upgrade request the handshake has accepted (or completed only to refuse it). */
export type AcceptedRequest = IncomingMessage & {
  [kHandshake]?: ConnectionInfo;
  [kRefused]?: HandshakeRefusal;
};

/** The refusals `authFailure: 'close'` completes, by the HTTP status `'http'` would answer. */
const REFUSALS: Readonly<Record<number, HandshakeRefusal>> = {
  401: { code: CloseCode.UNAUTHORIZED, reason: 'unauthorized' },
  403: { code: CloseCode.FORBIDDEN_ORIGIN, reason: 'forbidden origin' },
};

/** How long a refused socket may take to answer the close before it is destroyed. */
const REFUSED_CLOSE_TIMEOUT_MS = 1_000;

/**
 * With `authFailure: 'close'` (or `'auto'` for a client offering `ws-hub.v1`) a refused handshake is completed and the socket closed at once
 * with an application close code (4401, 4403), so that browsers (which cannot read an HTTP
 * status) can tell a refusal from an outage. Called before registration, so nothing else is
 * ever written to that socket. Returns true when it closed the socket (it must not be
 * registered); `'http'` (the default) never records a refusal, so it always returns false.
 */
export function closeIfRefused(
  socket: { close(code: number, reason: string): void; terminate?(): void },
  request: IncomingMessage | undefined,
): boolean {
  const refusal = (request as AcceptedRequest | undefined)?.[kRefused];
  if (!refusal) return false;
  socket.close(refusal.code, refusal.reason);
  // A peer that never answers the close must not hold the socket for ws's 30 s close timeout.
  if (socket.terminate) setTimeout(() => socket.terminate!(), REFUSED_CLOSE_TIMEOUT_MS).unref();
  return true;
}

/** What the handshake needs to know of the hub (the core's `GatewayRole` provides it). */
interface HandshakeHost {
  readonly online: number;
  readonly isShuttingDown: boolean;
  /** Draining (deploy): every handshake is refused with 503 and `Retry-After: 1`. */
  readonly draining: boolean;
  readonly authenticator: HubAuthenticateFn | undefined;
  connectionsFromIp(ip: string): number;
  countRejected(status: number): void;
}

type VerifyCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string | number>,
) => void;

/** Seconds a client refused for load should wait before retrying (sent as `Retry-After`). */
const RETRY_AFTER_SECONDS = 5;
/**
 * `Retry-After` while draining: the retry goes through the load balancer, which by then sends
 * it to another instance (the health check says this one is not ready), so it can be soon.
 */
const DRAIN_RETRY_AFTER_SECONDS = 1;

/** The client IP for per-IP limits: `clientIp` when given and it works, else the socket address. */
export function clientIpOf(
  request: IncomingMessage,
  clientIp: ((request: IncomingMessage) => string) | undefined,
): string {
  if (clientIp) {
    try {
      return clientIp(request);
    } catch {
      // fall back to the socket address
    }
  }
  return request.socket?.remoteAddress ?? 'unknown';
}

/** Finds the token in `Authorization: Bearer`, then `Sec-WebSocket-Protocol`, then `?token=`. */
export function extractToken(
  request: IncomingMessage,
): Pick<HubHandshakeContext, 'token' | 'tokenSource'> {
  const auth = request.headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return { token: match[1], tokenSource: 'authorization' };
  }
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols) {
    for (const p of protocols.split(',')) {
      const value = p.trim();
      if (
        value.startsWith(BEARER_SUBPROTOCOL_PREFIX) &&
        value.length > BEARER_SUBPROTOCOL_PREFIX.length
      ) {
        return { token: value.slice(BEARER_SUBPROTOCOL_PREFIX.length), tokenSource: 'subprotocol' };
      }
    }
  }
  const url = request.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0) {
    const token = new URLSearchParams(url.slice(q + 1)).get('token');
    if (token) return { token, tokenSource: 'query' };
  }
  return { token: undefined, tokenSource: undefined };
}

/**
 * Picks the subprotocol to echo. Browsers fail a handshake whose response names none of the
 * offered protocols, so a browser sending its token as `bearer.<token>` also offers
 * `ws-hub.v1`, and that is what comes back (the token is never echoed when avoidable).
 */
export function selectProtocol(protocols: Set<string>, recovery = false): string | false {
  // With recovery on, a client that asks for it gets it (it also offers ws-hub.v1, which a
  // server with recovery off picks instead: that is how the client learns the server's choice).
  if (recovery && protocols.has(RECOVERY_SUBPROTOCOL)) return RECOVERY_SUBPROTOCOL;
  if (protocols.has(HUB_SUBPROTOCOL)) return HUB_SUBPROTOCOL;
  let bearer: string | undefined;
  for (const p of protocols) {
    if (!p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p;
    bearer ??= p;
  }
  return bearer ?? false;
}

/**
 * What `authenticate` must return to accept: a `userId`, and an `expiresAt` (if any) that is a
 * number still in the future (an expired token is refused like a wrong one).
 */
export function isPrincipal(value: unknown, nowMs = Date.now()): value is HubPrincipal {
  if (typeof value !== 'object' || value === null) return false;
  const { userId, expiresAt } = value as HubPrincipal;
  return (
    typeof userId === 'string' &&
    userId.length > 0 &&
    (expiresAt === undefined || (typeof expiresAt === 'number' && expiresAt > nowMs))
  );
}

/**
 * Everything decided before the upgrade: origin, connection limits, authentication. Runs as
 * ws's `verifyClient`, so a refused handshake gets a plain HTTP status and no socket,
 * client record or timer is ever allocated for it; with `authFailure: 'close'`, a refusal for
 * authentication or origin is completed instead and closed by `closeIfRefused`.
 */
export class HubHandshake {
  private readonly origins: Set<string> | undefined;
  private pending = 0;
  private readonly pendingByIp = new Map<string, number>();
  /**
   * `authenticate` failures logged: 10 lines per 10 s, the rest counted. An `authenticate` that
   * throws on bad tokens (`jwt.verify`) would otherwise let anyone fill the log.
   */
  private readonly failureLog = new LogBudget(10, 10_000);
  /** `maxHandshakesPerSecond`, when set. */
  private readonly admission: HandshakeAdmission | undefined;

  constructor(
    private readonly hub: HandshakeHost,
    private readonly options: ResolvedHubOptions,
  ) {
    this.origins = options.allowedOrigins ? new Set(options.allowedOrigins) : undefined;
    this.admission =
      options.maxHandshakesPerSecond === Infinity
        ? undefined
        : new HandshakeAdmission(options.maxHandshakesPerSecond);
  }

  /** The ws server options this handshake contributes. */
  serverOptions(): Pick<ServerOptions, 'verifyClient' | 'handleProtocols'> {
    return {
      // Two parameters: ws then calls it asynchronously, which `authenticate` needs.
      verifyClient: (info: { req: IncomingMessage }, done: VerifyCallback) =>
        this.verify(info.req, done),
      handleProtocols: (protocols: Set<string>) =>
        selectProtocol(protocols, this.options.recovery !== false),
    };
  }

  private verify(request: IncomingMessage, done: VerifyCallback): void {
    const reject = (
      status: number,
      message: string,
      headers?: Record<string, string | number>,
    ): void => {
      this.hub.countRejected(status);
      // Only the status and the peer address: the URL may carry a token in its query string.
      hubLogger.debug(
        `handshake refused with ${status} (${message}) from ${request.socket?.remoteAddress}`,
      );
      done(false, status, message, headers);
    };
    if (this.hub.draining) {
      return reject(503, 'Service Unavailable', { 'Retry-After': DRAIN_RETRY_AFTER_SECONDS });
    }
    if (this.hub.isShuttingDown) {
      return reject(503, 'Service Unavailable', { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    /**
     * A refusal for the client (401, 403): an HTTP status, or with `authFailure: 'close'` a
     * completed upgrade that `closeIfRefused` closes at once with 4401 / 4403.
     */
    const refuse = (status: 401 | 403, message: string, headers?: Record<string, string>) => {
      if (!closes) return reject(status, message, headers);
      this.hub.countRejected(status);
      hubLogger.debug(
        `handshake refused with ${REFUSALS[status].code} (${message}) from ${request.socket?.remoteAddress}`,
      );
      (request as AcceptedRequest)[kRefused] = REFUSALS[status];
      done(true);
    };
    // The peer address costs a getpeername() syscall: read it only when something needs it.
    const ip =
      this.options.maxConnectionsPerIp !== Infinity ||
      this.options.clientIp !== undefined ||
      this.hub.authenticator !== undefined
        ? clientIpOf(request, this.options.clientIp)
        : undefined;
    const pendingHere = ip === undefined ? 0 : (this.pendingByIp.get(ip) ?? 0);
    // Whether a refusal for the client completes the upgrade to close it (4401 / 4403).
    const mode = this.options.authFailure;
    const closes = mode === 'close' || (mode === 'auto' && offersHubProtocol(request));
    // Load limits first when a refusal costs an upgrade: a flood of refused handshakes is
    // answered 503/429 like any other once past the limits.
    const overLimit = (): boolean => {
      const retryAfter = this.admission?.admit();
      if (retryAfter !== undefined) {
        reject(503, 'Service Unavailable', { 'Retry-After': retryAfter });
        return true;
      }
      if (this.hub.online + this.pending >= this.options.maxConnections) {
        reject(503, 'Service Unavailable', { 'Retry-After': RETRY_AFTER_SECONDS });
        return true;
      }
      if (
        ip !== undefined &&
        this.hub.connectionsFromIp(ip) + pendingHere >= this.options.maxConnectionsPerIp
      ) {
        reject(429, 'Too Many Requests', { 'Retry-After': RETRY_AFTER_SECONDS });
        return true;
      }
      return false;
    };
    if (this.origins) {
      const origin = request.headers.origin;
      if (origin === undefined ? !this.options.allowMissingOrigin : !this.origins.has(origin)) {
        if (closes && overLimit()) return;
        return refuse(403, 'Forbidden');
      }
    }
    if (overLimit()) return;
    const authenticate = this.hub.authenticator;
    if (!authenticate) {
      (request as AcceptedRequest)[kHandshake] = {
        ip,
        principal: undefined,
      };
      return done(true);
    }
    // Counted as pending while `authenticate` runs, so a burst of slow handshakes cannot
    // overshoot the connection limits.
    const peer = ip!; // read above: authenticate is set
    this.pending++;
    this.pendingByIp.set(peer, pendingHere + 1);
    const settle = (): void => {
      this.pending--;
      const n = (this.pendingByIp.get(peer) ?? 1) - 1;
      if (n <= 0) this.pendingByIp.delete(peer);
      else this.pendingByIp.set(peer, n);
    };
    const context: HubHandshakeContext = { ...extractToken(request), remoteAddress: peer };
    // A hanging `authenticate` would hold its pending slot (and the upgrade socket) forever.
    let finished = false;
    const timer = setTimeout(() => {
      if (finished) return;
      finished = true;
      settle();
      const budget = this.failureLog.take();
      if (budget) {
        hubLogger.warn(
          `authenticate timed out after ${this.options.authenticateTimeoutMs} ms${budget.note}`,
        );
      }
      reject(503, 'Service Unavailable', { 'Retry-After': RETRY_AFTER_SECONDS });
    }, this.options.authenticateTimeoutMs);
    timer.unref();
    Promise.resolve()
      .then(() => authenticate(request, context))
      .then(
        (principal) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          settle();
          if (!isPrincipal(principal)) {
            return refuse(401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
          }
          (request as AcceptedRequest)[kHandshake] = {
            ip,
            principal,
          };
          done(true);
        },
        (err: unknown) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          settle();
          // The token (or its parts, or the query string) must not reach the log, whatever
          // the app's error says.
          const budget = this.failureLog.take();
          if (budget) {
            const text = redactedError(err, context.token, request.url, request.headers);
            hubLogger.error(`authenticate failed: ${text}${budget.note}`);
          }
          this.hub.countRejected(500);
          done(false, 500, 'Internal Server Error');
        },
      )
      .catch((err: unknown) => {
        // Completing the upgrade failed (the socket went away meanwhile): nothing to answer.
        hubLogger.warn(`handshake failed: ${errorText(err)}`);
      });
  }
}

/**
 * Whether the client offered the hub's subprotocol (`ws-hub.v1`, or `ws-hub.recovery`): it then
 * speaks the protocol and understands a 4401 / 4403 close (`authFailure: 'auto'`).
 */
function offersHubProtocol(request: IncomingMessage): boolean {
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return false;
  for (const p of offered.split(',')) {
    const name = p.trim();
    if (name === HUB_SUBPROTOCOL || name === RECOVERY_SUBPROTOCOL) return true;
  }
  return false;
}
