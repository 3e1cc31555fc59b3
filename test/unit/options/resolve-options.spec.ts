import { describe, expect, it } from 'vitest';
import {
  resolveHubOptions,
  WsHubOptionsError,
  type HubAdapter,
  type WsHubModuleOptions,
} from '../../../src/ws-hub/index.js';

/** The error `resolveHubOptions(options)` throws (fails the test when it throws none). */
function rejection(options: unknown): WsHubOptionsError {
  try {
    resolveHubOptions(options as WsHubModuleOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(WsHubOptionsError);
    return err as WsHubOptionsError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

/** Asserts the option named and the whole message. */
function expectRejected(options: unknown, option: string, problem: string): void {
  const error = rejection(options);
  expect(error.option).toBe(option);
  expect(error.name).toBe('WsHubOptionsError');
  expect(error.message).toBe(`WsHubModule: option "${option}" ${problem}`);
}

const DEFAULTS = {
  path: '/ws',
  pingIntervalMs: 25_000,
  maxMissedPongs: 2,
  maxPayloadBytes: 65_536,
  welcome: true,
  shutdownTimeoutMs: 3_000,
  perMessageDeflate: false,
  authenticate: undefined,
  authenticateTimeoutMs: 10_000,
  tokenRefreshBeforeMs: 60_000,
  authFailure: 'auto',
  allowedOrigins: undefined,
  allowMissingOrigin: true,
  maxConnections: Infinity,
  maxConnectionsPerIp: Infinity,
  clientIp: undefined,
  rateLimit: { messagesPerSecond: 100, burst: 200, maxViolations: 20 },
  maxInvalidFrames: 20,
  maxHandlerFailures: 10,
  maxBufferedBytes: 1_048_576,
  slowConsumer: 'close',
  authorizeJoin: undefined,
  maxRoomsPerClient: 100,
  adapter: undefined,
  redis: undefined,
  metrics: false,
  recovery: false,
  coalesceWrites: true,
  drainMs: 5_000,
  maxHandshakesPerSecond: Infinity,
};

/** Options that take a positive integer, with the unit their error message names. */
const POSITIVE_INTEGERS: [keyof WsHubModuleOptions & keyof typeof DEFAULTS, string][] = [
  ['pingIntervalMs', 'milliseconds'],
  ['maxMissedPongs', 'ping rounds'],
  ['maxPayloadBytes', 'bytes'],
  ['shutdownTimeoutMs', 'milliseconds'],
  ['authenticateTimeoutMs', 'milliseconds'],
  ['tokenRefreshBeforeMs', 'milliseconds'],
  ['maxInvalidFrames', 'frames'],
  ['maxHandlerFailures', 'frames'],
  ['maxBufferedBytes', 'bytes'],
  ['maxRoomsPerClient', 'rooms'],
];
const CONNECTION_LIMITS = ['maxConnections', 'maxConnectionsPerIp'] as const;
const BOOLEANS = ['welcome', 'perMessageDeflate', 'allowMissingOrigin'] as const;

describe('resolveHubOptions: defaults', () => {
  it('fills in every documented default, and nothing else', () => {
    const resolved = resolveHubOptions({});
    expect(resolved).toEqual(DEFAULTS);
    expect(Object.keys(resolved).sort()).toEqual(Object.keys(DEFAULTS).sort());
  });

  it('uses the default path when it is undefined or null', () => {
    expect(resolveHubOptions({ path: undefined }).path).toBe('/ws');
    expect(resolveHubOptions({ path: null } as never).path).toBe('/ws');
  });

  it('treats no options at all as empty options', () => {
    expect(resolveHubOptions(undefined)).toEqual(DEFAULTS);
    expect(resolveHubOptions(null as never)).toEqual(DEFAULTS);
  });

  it('gives each call its own rate limit object', () => {
    const a = resolveHubOptions({});
    const b = resolveHubOptions({});
    expect(a.rateLimit).not.toBe(b.rateLimit);
  });

  it.each(POSITIVE_INTEGERS)('uses the default of %s when it is undefined or null', (name) => {
    expect(resolveHubOptions({ [name]: undefined })[name]).toBe(DEFAULTS[name]);
    expect(resolveHubOptions({ [name]: null } as never)[name]).toBe(DEFAULTS[name]);
  });

  it.each(BOOLEANS)('uses the default of %s when it is undefined or null', (name) => {
    expect(resolveHubOptions({ [name]: undefined })[name]).toBe(DEFAULTS[name]);
    expect(resolveHubOptions({ [name]: null } as never)[name]).toBe(DEFAULTS[name]);
  });

  it.each(CONNECTION_LIMITS)('leaves %s unlimited when undefined, null or Infinity', (name) => {
    for (const value of [undefined, null, Infinity]) {
      expect(resolveHubOptions({ [name]: value } as never)[name]).toBe(Infinity);
    }
  });

  it('fills in rateLimit.maxViolations alone when the rest is given', () => {
    expect(resolveHubOptions({ rateLimit: { messagesPerSecond: 5, burst: 10 } }).rateLimit).toEqual(
      { messagesPerSecond: 5, burst: 10, maxViolations: 20 },
    );
  });
});

describe('resolveHubOptions: accepted values', () => {
  it.each(POSITIVE_INTEGERS)('keeps a positive integer %s', (name) => {
    expect(resolveHubOptions({ [name]: 1 })[name]).toBe(1);
    expect(resolveHubOptions({ [name]: 123_456 })[name]).toBe(123_456);
  });

  it.each(CONNECTION_LIMITS)('keeps a positive integer %s', (name) => {
    expect(resolveHubOptions({ [name]: 3 })[name]).toBe(3);
  });

  it.each(BOOLEANS)('keeps %s given as either boolean', (name) => {
    expect(resolveHubOptions({ [name]: false })[name]).toBe(false);
    expect(resolveHubOptions({ [name]: true })[name]).toBe(true);
  });

  it.each([
    ['/ws', '/ws'],
    ['/', '/'],
    ['/hub/', '/hub'],
    ['/a/b///', '/a/b'],
    ['/deep/path', '/deep/path'],
  ])('takes the path %j as %j (a trailing slash would never match)', (path, resolved) => {
    expect(resolveHubOptions({ path }).path).toBe(resolved);
  });

  it('keeps rateLimit: false (no limit) and a full rate limit', () => {
    expect(resolveHubOptions({ rateLimit: false }).rateLimit).toBe(false);
    const rateLimit = { messagesPerSecond: 1, burst: 1, maxViolations: 1 };
    expect(resolveHubOptions({ rateLimit }).rateLimit).toEqual(rateLimit);
  });

  it.each(['drop', 'close'] as const)('keeps slowConsumer %j', (slowConsumer) => {
    expect(resolveHubOptions({ slowConsumer }).slowConsumer).toBe(slowConsumer);
  });

  it.each(['auto', 'http', 'close'] as const)('keeps authFailure %j', (authFailure) => {
    expect(resolveHubOptions({ authFailure }).authFailure).toBe(authFailure);
  });

  it('passes functions, classes, origins, the adapter and redis settings through as given', () => {
    const authenticate = () => ({ userId: 'u' });
    class JoinAuthorizer {
      authorizeJoin() {
        return true;
      }
    }
    const clientIp = () => '10.0.0.1';
    const allowedOrigins = ['https://a.example', 'https://b.example'];
    const adapter = { publish: () => undefined } as unknown as HubAdapter;
    const redis = { url: 'redis://127.0.0.1:1' };
    const resolved = resolveHubOptions({
      authenticate,
      authorizeJoin: JoinAuthorizer,
      clientIp,
      allowedOrigins,
      adapter,
      redis,
    });
    expect(resolved.authenticate).toBe(authenticate);
    expect(resolved.authorizeJoin).toBe(JoinAuthorizer);
    expect(resolved.clientIp).toBe(clientIp);
    expect(resolved.allowedOrigins).toBe(allowedOrigins);
    expect(resolved.adapter).toBe(adapter);
    expect(resolved.redis).toBe(redis);
  });

  it('accepts an empty origin list and redis settings with a client only', () => {
    expect(resolveHubOptions({ allowedOrigins: [] }).allowedOrigins).toEqual([]);
    const redis = { client: {} };
    expect(resolveHubOptions({ redis }).redis).toBe(redis);
  });

  it('accepts isGlobal (a module option) without passing it on', () => {
    expect(resolveHubOptions({ isGlobal: false } as never)).toEqual(DEFAULTS);
  });
});

describe('resolveHubOptions: validation errors name the option', () => {
  it.each(['pingIntervalMS', 'port', 'redisUrl', 'rateLimits', 'constructor', 'toString'])(
    'refuses the unknown option %s',
    (name) => {
      expectRejected({ [name]: 1 }, name, 'is not a ws-hub option');
    },
  );

  it('reports an unknown option before checking the known ones', () => {
    expect(rejection({ pingIntervalMs: -1, typo: 1 }).option).toBe('typo');
  });

  it.each(['not options', 42, true])('refuses %j as options', (options) => {
    expectRejected(options, 'options', 'must be an object');
  });

  describe.each(POSITIVE_INTEGERS)('%s', (name, unit) => {
    it.each([
      [0, '0'],
      [-5, '-5'],
      [1.5, '1.5'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [
        '25s',
        '"25s" (environment values are strings: convert them (Number(value), value === "true"))',
      ],
      ['', '"" (environment values are strings: convert them (Number(value), value === "true"))'],
      [
        '-3',
        '"-3" (environment values are strings: convert them (Number(value), value === "true"))',
      ],
      [false, 'false'],
      [{}, 'object'],
    ])('refuses %j', (value, shown) => {
      expectRejected({ [name]: value }, name, `must be a positive integer (${unit}), got ${shown}`);
    });
    it('accepts a string of digits, as environment values come (ConfigService.get)', () => {
      expect(resolveHubOptions({ [name]: '1000' })[name]).toBe(1000);
      expect(resolveHubOptions({ [name]: ' 42 ' })[name]).toBe(42);
    });
  });

  describe.each(CONNECTION_LIMITS)('%s', (name) => {
    it.each([
      [0, '0'],
      [-1, '-1'],
      [2.5, '2.5'],
      [-Infinity, '-Infinity'],
      [
        'ten',
        '"ten" (environment values are strings: convert them (Number(value), value === "true"))',
      ],
    ])('refuses %j', (value, shown) => {
      expectRejected(
        { [name]: value },
        name,
        `must be a positive integer (connections), got ${shown}`,
      );
    });
  });

  describe.each(BOOLEANS)('%s', (name) => {
    it.each([
      [
        'yes',
        '"yes" (environment values are strings: convert them (Number(value), value === "true"))',
      ],
      [
        'true',
        '"true" (environment values are strings: convert them (Number(value), value === "true"))',
      ],
      [1, '1'],
      [0, '0'],
      [[], 'object'],
    ])('refuses %j', (value, shown) => {
      expectRejected({ [name]: value }, name, `must be a boolean, got ${shown}`);
    });
  });

  it.each([
    ['ws', '"ws"'],
    ['', '""'],
    ['/ws?x=1', '"/ws?x=1"'],
    ['/ws#top', '"/ws#top"'],
    ['/w s', '"/w s"'],
    ['/ws\n', '"/ws\\n"'],
    [42, '42'],
  ])('refuses the path %j', (path, shown) => {
    expectRejected({ path }, 'path', `must be a string starting with "/", got ${shown}`);
  });

  it.each([true, 'fast', 100, null])('refuses rateLimit %j', (rateLimit) => {
    expectRejected({ rateLimit }, 'rateLimit', 'must be { messagesPerSecond, burst } or false');
  });

  it.each([{}, { messagesPerSecond: 10 }, { burst: 10 }, { maxViolations: 3 }])(
    'refuses rateLimit %j without both rates',
    (rateLimit) => {
      expectRejected({ rateLimit }, 'rateLimit', 'needs both messagesPerSecond and burst');
    },
  );

  it.each([
    [{ messagesPerSecond: -1, burst: 2 }, 'messagesPerSecond', 'frames per second', '-1'],
    [
      { messagesPerSecond: 'ten', burst: 2 },
      'messagesPerSecond',
      'frames per second',
      '"ten" (environment values are strings: convert them (Number(value), value === "true"))',
    ],
    [{ messagesPerSecond: 10, burst: 0 }, 'burst', 'frames', '0'],
    [{ messagesPerSecond: 10, burst: 2.5 }, 'burst', 'frames', '2.5'],
    [{ messagesPerSecond: 10, burst: 2, maxViolations: 0 }, 'maxViolations', 'frames', '0'],
    [{ messagesPerSecond: 10, burst: 2, maxViolations: 1.5 }, 'maxViolations', 'frames', '1.5'],
  ])('refuses rateLimit %j naming rateLimit.%s', (rateLimit, field, unit, shown) => {
    expectRejected(
      { rateLimit },
      `rateLimit.${field}`,
      `must be a positive integer (${unit}), got ${shown}`,
    );
  });

  it.each([
    ['ignore', '"ignore"'],
    ['Close', '"Close"'],
    [1, '1'],
    [false, 'false'],
  ])('refuses slowConsumer %j', (slowConsumer, shown) => {
    expectRejected({ slowConsumer }, 'slowConsumer', `must be "drop" or "close", got ${shown}`);
  });

  it.each([
    ['ws', '"ws"'],
    ['HTTP', '"HTTP"'],
    [401, '401'],
    [true, 'true'],
  ])('refuses authFailure %j', (authFailure, shown) => {
    expectRejected(
      { authFailure },
      'authFailure',
      `must be "auto", "http" or "close", got ${shown}`,
    );
  });

  it.each(['https://a.example', ['https://a.example', 5], [null], {}])(
    'refuses allowedOrigins %j',
    (allowedOrigins) => {
      expectRejected({ allowedOrigins }, 'allowedOrigins', 'must be an array of origin strings');
    },
  );

  it.each(['authenticate', 'authorizeJoin'] as const)('refuses %s that is not callable', (name) => {
    for (const value of ['secret', { [name]: () => true }, 42, null]) {
      expectRejected(
        { [name]: value },
        name,
        `must be a function or an injectable class with ${name}()`,
      );
    }
  });

  it.each(['x-forwarded-for', {}, null])('refuses clientIp %j', (clientIp) => {
    expectRejected({ clientIp }, 'clientIp', 'must be a function (request) => string');
  });

  it.each([
    ['a string', 'redis'],
    ['an empty object', {}],
    ['a non-callable publish', { publish: 'yes' }],
    ['a function', () => undefined],
  ])('refuses an adapter that does not implement HubAdapter (%s)', (_, adapter) => {
    expectRejected({ adapter }, 'adapter', 'must implement HubAdapter');
  });

  it.each([{}, { keyPrefix: 'p' }, { url: '' }, null, 'redis://127.0.0.1:6380'])(
    'refuses redis settings %j without a url or a client',
    (redis) => {
      expectRejected({ redis }, 'redis', 'needs a url or a client');
    },
  );

  it('never shows the content of an object value in the message', () => {
    const error = rejection({ maxPayloadBytes: { secret: 'hunter2' } });
    expect(error.message).not.toContain('hunter2');
  });
});

describe('resolveHubOptions: metrics and recovery', () => {
  it('resolves metrics: true to the defaults, and checks the prefix and registry', () => {
    expect(resolveHubOptions({ metrics: true }).metrics).toEqual({
      registry: undefined,
      prefix: 'ws_hub_',
      eventLoopDelay: true,
      errorCodes: [],
    });
    expect(() => resolveHubOptions({ metrics: { errorCodes: 'ROOM_FULL' as never } })).toThrow(
      'option "metrics.errorCodes" must be an array of error code strings',
    );
    expect(() => resolveHubOptions({ metrics: { prefix: 'bad-prefix' } })).toThrow(
      'WsHubModule: option "metrics.prefix" must be a valid Prometheus name prefix, got "bad-prefix"',
    );
    expect(() => resolveHubOptions({ metrics: { registry: {} as never } })).toThrow(
      'option "metrics.registry" must be a prom-client Registry',
    );
    expect(() => resolveHubOptions({ metrics: { nope: 1 } as never })).toThrow(
      'option "metrics.nope" is not a metrics option',
    );
  });

  it('resolves recovery: true to the documented defaults, and keeps sessions within the history TTL', () => {
    expect(resolveHubOptions({ recovery: true }).recovery).toEqual({
      historySize: 300,
      historyTtlMs: 300_000,
      sessionTtlMs: 120_000,
      maxReplayMessages: 1_000,
      maxReplayBytes: 1_048_576,
    });
    expect(resolveHubOptions({ recovery: { historyTtlMs: 60_000 } }).recovery).toMatchObject({
      sessionTtlMs: 60_000,
    });
    expect(() =>
      resolveHubOptions({ recovery: { historyTtlMs: 1000, sessionTtlMs: 2000 } }),
    ).toThrow(
      'option "recovery.sessionTtlMs" must not exceed recovery.historyTtlMs (1000), got 2000',
    );
    expect(() => resolveHubOptions({ recovery: { historySize: 0 } })).toThrow(
      'option "recovery.historySize" must be a positive integer (messages), got 0',
    );
  });
});

describe('resolveHubOptions: deploys (issue 20)', () => {
  it('drainMs: whole milliseconds, 0 included (all at once), digit strings read', () => {
    expect(resolveHubOptions({ drainMs: 0 }).drainMs).toBe(0);
    expect(resolveHubOptions({ drainMs: '2500' as never }).drainMs).toBe(2500);
    expect(resolveHubOptions({ drainMs: null as never }).drainMs).toBe(5000);
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      expect(() => resolveHubOptions({ drainMs: bad })).toThrow(
        `WsHubModule: option "drainMs" must be a whole number of milliseconds (0 or more), got ${bad}`,
      );
    }
    expect(() => resolveHubOptions({ drainMs: 'soon' as never })).toThrow(
      'option "drainMs" must be a whole number of milliseconds (0 or more), got "soon" (environment values are strings',
    );
  });

  it('maxHandshakesPerSecond: a positive integer, or unlimited', () => {
    expect(resolveHubOptions({ maxHandshakesPerSecond: 200 }).maxHandshakesPerSecond).toBe(200);
    expect(
      resolveHubOptions({ maxHandshakesPerSecond: '50' as never }).maxHandshakesPerSecond,
    ).toBe(50);
    expect(resolveHubOptions({ maxHandshakesPerSecond: Infinity }).maxHandshakesPerSecond).toBe(
      Infinity,
    );
    expect(() => resolveHubOptions({ maxHandshakesPerSecond: 0 })).toThrow(
      'WsHubModule: option "maxHandshakesPerSecond" must be a positive integer (handshakes per second), got 0',
    );
  });
});
