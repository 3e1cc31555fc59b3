import { makePolicy, REFUSED, type HubClosePolicy } from './close-policy.js';
import type { Emitter } from './emitter.js';
import { HubClientError, HubDisconnectedError, type HubRequestError } from './errors.js';
import type { HubGetToken, HubTokenRefresh, HubWebSocket } from './types.js';

const TOKEN = makePolicy('retry', 'token');
const REFRESH = Symbol('onTokenRefresh');
/**
 * Error codes of a refused `refresh` (`TOKEN_REFUSED`, `TOKEN_USER_MISMATCH`): the new token will
 * not do. (A pattern: importing `ErrorCode` would bundle all of it.)
 */
const REFUSAL = /^TOKEN_/;

export interface TokensHost {
  token?: string;
  getToken?: HubGetToken;
  emitter: Emitter;
  /** The current socket (a refresh belongs to the connection that asked for it). */
  current(): HubWebSocket | undefined;
  /** Sends `refresh` on the open connection; resolves with the `refreshed` data. */
  refresh(token: string): Promise<{ expiresInMs?: unknown } | undefined>;
  /** Stops the client: cause `refused`. */
  refuse(reason: string): void;
}

/**
 * The connection's token: where it comes from (`token`, `getToken`, `setToken`), one `getToken`
 * call at a time (single flight: an attempt and an in-band refresh running together share it),
 * the in-band refresh the server asks for with `expiring`, and the token's expiry on the local
 * clock (from `expiresInMs`, never from the server's epoch: the clocks may disagree).
 */
export function createTokens(host: TokensHost) {
  let source: string | HubGetToken | undefined = host.getToken ?? host.token;
  let flight: Promise<string | undefined> | undefined;
  /** The connection a refresh is running on (one at a time per connection). */
  let refreshing: HubWebSocket | undefined;
  /** The next attempt follows a 4440: a `getToken` failure then stops the client. */
  let renew = false;
  let expiresAt: number | undefined;

  const fetch = (): string | undefined | Promise<string | undefined> => {
    const get = source;
    if (typeof get !== 'function') return get;
    if (!flight) {
      const f: Promise<string | undefined> = (flight = Promise.resolve()
        .then(get)
        .finally(() => {
          if (flight === f) flight = undefined;
        }));
    }
    return flight;
  };
  const expiry = (data?: { expiresInMs?: unknown }) => {
    const ms = data?.expiresInMs;
    expiresAt = typeof ms === 'number' ? Date.now() + ms : undefined;
  };
  const message = (error: any) => String(error?.message ?? error);

  return {
    get expiresAt() {
      return expiresAt;
    },
    onRefresh: (fn: (refresh: HubTokenRefresh) => void) => host.emitter.on(REFRESH, fn),
    /** Replaces the token source; the next attempt or refresh uses it. */
    set(next: string | HubGetToken | undefined): void {
      source = next;
      flight = undefined;
    },
    /** Gets the token for an attempt: `open(token)`, or `fail(reason, policy)`. */
    next(open: (token?: string) => void, fail: (reason: string, policy: HubClosePolicy) => void) {
      const strict = renew;
      renew = false;
      const token = fetch();
      if (typeof token !== 'object') return open(token);
      const failed = (error: unknown) =>
        fail(`getToken failed: ${message(error)}`, strict ? REFUSED : TOKEN);
      token.then((t) => (strict && !t ? failed('no token') : open(t)), failed);
    },
    /** The connection ended; `expired`: closed for expiry (4440), so a fresh token is a must. */
    closed(expired: boolean): void {
      renew = expired;
    },
    /** A welcome, `expiring` or `refreshed`: the expiry as the server tells it. */
    expiry,
    /** `expiring`: answers in-band with a token from `getToken`, once per connection at a time. */
    expiring(data: { expiresInMs?: unknown } | undefined): void {
      expiry(data);
      const s = host.current();
      if (typeof source !== 'function' || refreshing === s) return;
      refreshing = s;
      const end = (ok: boolean, error?: unknown) => {
        if (refreshing === s) refreshing = undefined;
        host.emitter.emit(REFRESH, { expiresAt, ok, error });
        // getToken failed or the server refused the token: trying again as is would not help.
        if (
          !ok &&
          host.current() === s &&
          (!(error instanceof HubClientError) || REFUSAL.test((error as HubRequestError).code))
        )
          host.refuse(`token refresh failed: ${message(error)}`);
      };
      (fetch() as Promise<string | undefined>)
        .then((token) => {
          if (!token) throw new Error('no token');
          if (host.current() !== s) throw new HubDisconnectedError('connection closed');
          return host.refresh(token);
        })
        .then(expiry) // the `refreshed` data
        .then(
          () => end(true),
          (error) => end(false, error),
        );
    },
  };
}
