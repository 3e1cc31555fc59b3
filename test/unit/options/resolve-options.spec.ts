import { describe, expect, it } from 'vitest';
import { resolveHubOptions, WsHubOptionsError } from '../../src/ws-hub/index.js';
import { startHub } from '../helpers/app.js';

describe('resolveHubOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveHubOptions({});
    expect(o).toMatchObject({
      path: '/ws',
      pingIntervalMs: 25000,
      maxMissedPongs: 2,
      maxPayloadBytes: 65536,
      welcome: true,
      maxBufferedBytes: 1048576,
      slowConsumer: 'close',
      rateLimit: { messagesPerSecond: 100, burst: 200, maxViolations: 20 },
      maxInvalidFrames: 20,
      maxConnections: Infinity,
      maxConnectionsPerIp: Infinity,
      allowMissingOrigin: true,
    });
  });
  it('strips a trailing slash from the path', () => {
    expect(resolveHubOptions({ path: '/hub/' }).path).toBe('/hub');
  });
  it.each([
    [{ path: 'ws' }, 'path'],
    [{ path: '/ws?x=1' }, 'path'],
    [{ pingIntervalMs: -5 }, 'pingIntervalMs'],
    [{ pingIntervalMs: 0 }, 'pingIntervalMs'],
    [{ pingIntervalMs: 1.5 }, 'pingIntervalMs'],
    [{ maxMissedPongs: 0 }, 'maxMissedPongs'],
    [{ maxPayloadBytes: '1000' }, 'maxPayloadBytes'],
    [{ welcome: 'yes' }, 'welcome'],
    [{ slowConsumer: 'ignore' }, 'slowConsumer'],
    [{ rateLimit: { messagesPerSecond: 10 } }, 'rateLimit'],
    [{ rateLimit: { messagesPerSecond: -1, burst: 2 } }, 'rateLimit.messagesPerSecond'],
    [{ maxConnections: -1 }, 'maxConnections'],
    [{ allowedOrigins: 'https://a' }, 'allowedOrigins'],
    [{ authenticate: 'secret' }, 'authenticate'],
    [{ pingIntervalMS: 10 }, 'pingIntervalMS'],
  ])('rejects %j naming %s', (options, name) => {
    let error: unknown;
    try {
      resolveHubOptions(options as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WsHubOptionsError);
    expect((error as WsHubOptionsError).option).toBe(name);
    expect((error as Error).message).toContain(`"${name}"`);
  });
  it('fails app startup with a message naming the option', async () => {
    await expect(startHub({ pingIntervalMs: -1 })).rejects.toThrow(
      /option "pingIntervalMs" must be a positive integer/,
    );
  });
});
