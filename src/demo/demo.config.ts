import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { HubPrincipal, WsHubModuleOptions } from '../ws-hub/index.js';
import { verifyHs256 } from './jwt.js';

/** Thrown at startup for an environment variable that cannot be used; names the variable. */
export class DemoConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`demo: environment variable ${variable} ${problem}`);
    this.name = 'DemoConfigError';
  }
}

function int(
  env: NodeJS.ProcessEnv,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()))
    throw new DemoConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value > max) throw new DemoConfigError(name, `must be at most ${max}, got "${raw}"`);
  return value;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One of `allowed`, or undefined when unset (an empty value counts as unset). */
function choice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    const options = allowed.map((a) => `"${a}"`);
    const last = options.pop();
    throw new DemoConfigError(name, `must be ${options.join(', ')} or ${last}, got "${raw}"`);
  }
  return raw as T;
}

/**
 * The environment variable behind each hub option the demo sets, filled as the options are
 * read: the library's `WsHubOptionsError` names the option, the demo's message names the
 * variable a person has to fix.
 */
const variableOfOption = new Map<string, string>();

/**
 * The demo's settings, read from the environment. Provided through DI so that
 * `WsHubModule.forRootAsync` can inject it, as an app would inject its ConfigService.
 */
@Injectable()
export class DemoConfig {
  readonly port: number;
  readonly host: string | undefined;
  readonly redisUrl: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor() {
    this.env = process.env;
    this.port = int(this.env, 'PORT', 65_535) ?? 3000;
    this.host = this.env.HOST || undefined;
    this.redisUrl = this.env.REDIS_URL || undefined;
  }

  /** `token:userId` pairs from HUB_AUTH_TOKENS, or undefined when authentication is off. */
  authTokens(): Map<string, string> | undefined {
    const pairs = list(this.env, 'HUB_AUTH_TOKENS');
    if (!pairs) return undefined;
    const table = new Map<string, string>();
    for (const pair of pairs) {
      const colon = pair.indexOf(':');
      if (colon <= 0 || colon === pair.length - 1) {
        throw new DemoConfigError('HUB_AUTH_TOKENS', 'must be comma-separated token:userId pairs');
      }
      table.set(pair.slice(0, colon), pair.slice(colon + 1));
    }
    return table;
  }

  /** The environment variable that set a hub option (`rateLimit.burst` → `HUB_RATE_LIMIT`). */
  static variableOf(option: string): string | undefined {
    return variableOfOption.get(option.split('.')[0]);
  }

  hubOptions(): WsHubModuleOptions {
    const env = this.env;
    const options: WsHubModuleOptions = {};
    const set = <K extends keyof WsHubModuleOptions>(
      key: K,
      variable: string,
      value: WsHubModuleOptions[K] | undefined,
    ) => {
      variableOfOption.set(key, variable);
      if (value !== undefined) options[key] = value;
    };
    set('path', 'HUB_PATH', env.HUB_PATH || undefined);
    set('pingIntervalMs', 'HUB_PING_INTERVAL_MS', int(env, 'HUB_PING_INTERVAL_MS'));
    set('maxMissedPongs', 'HUB_MAX_MISSED_PONGS', int(env, 'HUB_MAX_MISSED_PONGS'));
    set('maxPayloadBytes', 'HUB_MAX_PAYLOAD_BYTES', int(env, 'HUB_MAX_PAYLOAD_BYTES'));
    set('maxConnections', 'HUB_MAX_CONNECTIONS', int(env, 'HUB_MAX_CONNECTIONS'));
    set(
      'maxConnectionsPerIp',
      'HUB_MAX_CONNECTIONS_PER_IP',
      int(env, 'HUB_MAX_CONNECTIONS_PER_IP'),
    );
    set('maxBufferedBytes', 'HUB_MAX_BUFFERED_BYTES', int(env, 'HUB_MAX_BUFFERED_BYTES'));
    // Deploys (issue 20): the drain on SIGTERM, and admission control of reconnect storms.
    set('drainMs', 'HUB_DRAIN_MS', int(env, 'HUB_DRAIN_MS'));
    set('maxHandshakesPerSecond', 'HUB_MAX_HANDSHAKES_PER_S', int(env, 'HUB_MAX_HANDSHAKES_PER_S'));
    set('allowedOrigins', 'HUB_ALLOWED_ORIGINS', list(env, 'HUB_ALLOWED_ORIGINS'));
    set('slowConsumer', 'HUB_SLOW_CONSUMER', choice(env, 'HUB_SLOW_CONSUMER', ['drop', 'close']));
    set(
      'authFailure',
      'HUB_AUTH_FAILURE',
      choice(env, 'HUB_AUTH_FAILURE', ['auto', 'http', 'close']),
    );
    const rateLimit = env.HUB_RATE_LIMIT?.trim();
    if (rateLimit === 'off') {
      set('rateLimit', 'HUB_RATE_LIMIT', false);
    } else if (rateLimit) {
      const match = /^(\d+)\/(\d+)$/.exec(rateLimit);
      if (!match) {
        throw new DemoConfigError(
          'HUB_RATE_LIMIT',
          `must be <messagesPerSecond>/<burst> or "off", got "${env.HUB_RATE_LIMIT}"`,
        );
      }
      const [messagesPerSecond, burst] = [Number(match[1]), Number(match[2])];
      set('rateLimit', 'HUB_RATE_LIMIT', { messagesPerSecond, burst });
    }
    const recovery = choice(env, 'HUB_RECOVERY', ['on', 'off']);
    set('recovery', 'HUB_RECOVERY', recovery === 'on' ? true : undefined);
    // Prometheus metrics at GET /metrics: on in the demo unless HUB_METRICS=off. A registry
    // per app: several demo apps may run in one process (tests).
    const metrics = choice(env, 'HUB_METRICS', ['on', 'off']);
    set('metrics', 'HUB_METRICS', metrics === 'off' ? undefined : { registry: new Registry() });
    const coalesce = choice(env, 'HUB_COALESCE_WRITES', ['on', 'off']);
    set('coalesceWrites', 'HUB_COALESCE_WRITES', coalesce === 'off' ? false : undefined);
    const tokens = this.authTokens();
    // HS256 JWTs signed with HUB_JWT_SECRET: `sub` is the user, `exp` the connection's expiry.
    const secret = env.HUB_JWT_SECRET || undefined;
    set(
      'authenticate',
      tokens ? 'HUB_AUTH_TOKENS' : 'HUB_JWT_SECRET',
      tokens || secret
        ? (_request, { token }): HubPrincipal | null => {
            if (token === undefined) return null;
            const userId = tokens?.get(token);
            if (userId) return { userId };
            const claims = secret ? verifyHs256(token, secret) : null;
            if (!claims) return null;
            return claims.exp === undefined
              ? { userId: claims.sub }
              : { userId: claims.sub, expiresAt: claims.exp * 1000 };
          }
        : undefined,
    );
    set(
      'tokenRefreshBeforeMs',
      'HUB_TOKEN_REFRESH_BEFORE_MS',
      int(env, 'HUB_TOKEN_REFRESH_BEFORE_MS'),
    );
    set('redis', 'REDIS_URL', this.redisUrl ? { url: this.redisUrl } : undefined);
    return options;
  }
}
