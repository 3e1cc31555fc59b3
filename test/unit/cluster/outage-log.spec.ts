import { describe, expect, it } from 'vitest';
import { OutageLog } from '../../../src/ws-hub/cluster/outage-log.js';

describe('OutageLog (any backend)', () => {
  it('names its backend and target, and redacts with the backend', () => {
    const lines: [string, string][] = [];
    const logger = {
      log: (m: string) => lines.push(['log', m]),
      warn: (m: string) => lines.push(['warn', m]),
    };
    let now = 0;
    const log = new OutageLog(
      { backend: 'NATS', target: 'nats:4222', redact: (err) => String(err).replace('pw', '***') },
      logger,
      () => now,
    );
    log.failure('publish', 'auth pw refused');
    now += 10;
    log.recovered();
    expect(lines).toEqual([
      [
        'warn',
        'NATS unavailable (publish: auth *** refused); cross-instance delivery is paused, local delivery continues; reconnecting in the background',
      ],
      ['log', 'NATS connection to nats:4222 restored after 10 ms (1 failures during the outage)'],
    ]);
  });
});
