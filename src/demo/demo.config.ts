import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { HubPrincipal, WsHubModuleOptions } from '../ws-hub/index.js';

/** Thrown at startup for an environment variable that cannot be used; names the variable. */
export class DemoConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`demo: environment variable ${variable} ${problem}`);
    this.name = 'DemoConfigError';
  }
}

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()))
    throw new DemoConfigError(name, `must be a whole number, got "${raw}"`);
  return Number(raw);
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

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
    this.port = int(this.env, 'PORT') ?? 3000;
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

  hubOptions(): WsHubModuleOptions {
    const env = this.env;
    const options: WsHubModuleOptions = {};
    if (env.HUB_PATH) options.path = env.HUB_PATH;
    const set = <K extends keyof WsHubModuleOptions>(
      key: K,
      value: WsHubModuleOptions[K] | undefined,
    ) => {
      if (value !== undefined) options[key] = value;
    };
    set('pingIntervalMs', int(env, 'HUB_PING_INTERVAL_MS'));
    set('maxMissedPongs', int(env, 'HUB_MAX_MISSED_PONGS'));
    set('maxPayloadBytes', int(env, 'HUB_MAX_PAYLOAD_BYTES'));
    set('maxConnections', int(env, 'HUB_MAX_CONNECTIONS'));
    set('maxConnectionsPerIp', int(env, 'HUB_MAX_CONNECTIONS_PER_IP'));
    set('maxBufferedBytes', int(env, 'HUB_MAX_BUFFERED_BYTES'));
    set('allowedOrigins', list(env, 'HUB_ALLOWED_ORIGINS'));
    if (env.HUB_SLOW_CONSUMER) {
      if (env.HUB_SLOW_CONSUMER !== 'drop' && env.HUB_SLOW_CONSUMER !== 'close') {
        throw new DemoConfigError(
          'HUB_SLOW_CONSUMER',
          `must be "drop" or "close", got "${env.HUB_SLOW_CONSUMER}"`,
        );
      }
      options.slowConsumer = env.HUB_SLOW_CONSUMER;
    }
    if (env.HUB_AUTH_FAILURE) {
      if (env.HUB_AUTH_FAILURE !== 'http' && env.HUB_AUTH_FAILURE !== 'close') {
        throw new DemoConfigError(
          'HUB_AUTH_FAILURE',
          `must be "http" or "close", got "${env.HUB_AUTH_FAILURE}"`,
        );
      }
      options.authFailure = env.HUB_AUTH_FAILURE;
    }
    if (env.HUB_RATE_LIMIT) {
      if (env.HUB_RATE_LIMIT === 'off') {
        options.rateLimit = false;
      } else {
        const match = /^(\d+)\/(\d+)$/.exec(env.HUB_RATE_LIMIT.trim());
        if (!match) {
          throw new DemoConfigError(
            'HUB_RATE_LIMIT',
            `must be <messagesPerSecond>/<burst> or "off", got "${env.HUB_RATE_LIMIT}"`,
          );
        }
        options.rateLimit = { messagesPerSecond: Number(match[1]), burst: Number(match[2]) };
      }
    }
    if (env.HUB_RECOVERY) {
      if (env.HUB_RECOVERY !== 'on' && env.HUB_RECOVERY !== 'off') {
        throw new DemoConfigError(
          'HUB_RECOVERY',
          `must be "on" or "off", got "${env.HUB_RECOVERY}"`,
        );
      }
      if (env.HUB_RECOVERY === 'on') options.recovery = true;
    }
    // Prometheus metrics at GET /metrics: on in the demo unless HUB_METRICS=off.
    if (env.HUB_METRICS !== undefined && env.HUB_METRICS !== 'on' && env.HUB_METRICS !== 'off') {
      throw new DemoConfigError('HUB_METRICS', `must be "on" or "off", got "${env.HUB_METRICS}"`);
    }
    // A registry per app: several demo apps may run in one process (tests).
    if (env.HUB_METRICS !== 'off') options.metrics = { registry: new Registry() };
    if (env.HUB_COALESCE_WRITES === 'off') options.coalesceWrites = false;
    const tokens = this.authTokens();
    if (tokens) {
      options.authenticate = (_request, { token }): HubPrincipal | null => {
        const userId = token === undefined ? undefined : tokens.get(token);
        return userId ? { userId } : null;
      };
    }
    if (this.redisUrl) options.redis = { url: this.redisUrl };
    return options;
  }
}
