import type { IncomingMessage } from 'node:http';
import type { GatewayRole } from '../core/hub-core.js';
import type { Connection } from '../core/connection.js';
import { LogBudget } from '../core/log-budget.js';
import type { HubPrincipal } from '../interfaces/options.interface.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { ErrorCode, ServerEvent } from '../protocol/constants.js';
import { HubError } from '../protocol/hub.error.js';
import { hubLogger } from '../util/logger.js';
import { isPrincipal } from './handshake.js';
import { redactedError } from './redact.js';

/**
 * The in-band token refresh: `{"event":"refresh","id":n,"data":{"token":"..."}}` on an open
 * connection whose token expires, checked by the same `authenticate` as the handshake (given
 * the connection's upgrade request, the new token and `tokenSource: 'refresh'`). Accepted for
 * the same user: the connection keeps its rooms and session, takes the new principal and
 * expiry, and gets `refreshed` with it. Refused: `TOKEN_REFUSED`; another user:
 * `TOKEN_USER_MISMATCH`; `authenticate` failing or too slow: `INTERNAL` (nothing changes: at
 * expiry the connection closes with 4440 and the client reconnects with a fresh token).
 */
export class TokenRefresh {
  /** Upgrade requests of the connections whose token expires (the `request` of a refresh). */
  private readonly requests = new WeakMap<Connection, IncomingMessage>();
  /** `authenticate` failures logged: 10 lines per 10 s, the rest counted. */
  private readonly failureLog = new LogBudget(10, 10_000);

  constructor(
    private readonly hub: Pick<GatewayRole, 'authenticator' | 'renewToken'>,
    private readonly options: Pick<ResolvedHubOptions, 'authenticateTimeoutMs'>,
  ) {}

  /** A registered connection: its request is kept while its token expires. */
  remember(client: Connection | undefined, request: IncomingMessage | undefined): void {
    if (client && request && client.expiresAt !== undefined) this.requests.set(client, request);
  }

  /** Answers a `refresh` frame: `refreshed` with the new expiry, or throws a `HubError`. */
  async refresh(client: Connection, data: unknown) {
    const token = (data as { token?: unknown } | null | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new HubError(ErrorCode.BAD_REQUEST, 'refresh needs {"token": string}');
    }
    const authenticate = this.hub.authenticator;
    const request = this.requests.get(client);
    if (!authenticate || !request) {
      throw new HubError(ErrorCode.BAD_REQUEST, "this connection's token does not expire");
    }
    const principal = await this.check(client, request, token);
    if (!isPrincipal(principal)) throw new HubError(ErrorCode.TOKEN_REFUSED, 'token refused');
    if (principal.userId !== client.userId) {
      throw new HubError(ErrorCode.TOKEN_USER_MISMATCH, 'the token is for another user');
    }
    if (client.removed) return undefined;
    const expiry = this.hub.renewToken(client, principal);
    if (client.expiresAt === undefined) this.requests.delete(client);
    return { event: ServerEvent.REFRESHED, data: expiry };
  }

  /** `authenticate` on the new token, within `authenticateTimeoutMs`; failures are `INTERNAL`. */
  private async check(
    client: Connection,
    request: IncomingMessage,
    token: string,
  ): Promise<HubPrincipal | null | undefined | false> {
    const ms = this.options.authenticateTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() =>
          this.hub.authenticator!(request, {
            token,
            tokenSource: 'refresh',
            remoteAddress: client.remoteAddress,
          }),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
        }),
      ]);
    } catch (err) {
      const budget = this.failureLog.take();
      if (budget) {
        const text = redactedError(err, token, request.url, request.headers);
        hubLogger.error(`authenticate failed on a token refresh: ${text}${budget.note}`);
      }
      throw new HubError(ErrorCode.INTERNAL, 'the token could not be checked');
    } finally {
      clearTimeout(timer);
    }
  }
}
