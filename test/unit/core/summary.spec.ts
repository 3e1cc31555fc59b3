import { describe, expect, it } from 'vitest';
import { startupSummary } from '../../../src/ws-hub/core/summary.js';
import { resolveHubOptions } from '../../../src/ws-hub/options/resolve-options.js';

describe('startupSummary', () => {
  it('states the effective options of the defaults', () => {
    expect(startupSummary(resolveHubOptions({}), 'in-memory')).toBe(
      'hub ready on /ws, ping 25000 ms x 2, max payload 64 KiB, rate limit 100/s burst 200, ' +
        'slow consumer close past 1 MiB, connections unlimited (per IP unlimited), ' +
        'handshakes unlimited/s, drain 5000 ms, auth off (refusals as auto), origins any, ' +
        'adapter in-memory, metrics off',
    );
  });

  it('names no secret: the token check and the origins by count only', () => {
    const line = startupSummary(
      resolveHubOptions({
        path: '/rt',
        authenticate: () => ({ userId: 'secret-user' }),
        allowedOrigins: ['https://secret.example'],
        rateLimit: false,
        maxPayloadBytes: 1000,
        maxConnections: 10,
      }),
      'redis',
    );
    expect(line).toContain('hub ready on /rt');
    expect(line).toContain('auth on');
    expect(line).toContain('origins 1 allowed');
    expect(line).toContain('rate limit off');
    expect(line).toContain('max payload 1000 B');
    expect(line).toContain('connections 10 (per IP unlimited)');
    expect(line).not.toContain('secret');
  });
});
