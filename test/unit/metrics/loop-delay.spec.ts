import { describe, expect, it } from 'vitest';
import { LoopDelay } from '../../../src/ws-hub/metrics/loop-delay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LoopDelay: event-loop delay without the sampling interval', () => {
  it('reads near 0 for an idle loop, and about the block for a blocked one', async () => {
    const loop = new LoopDelay(20);
    try {
      await sleep(300);
      expect(loop.count).toBeGreaterThan(3);
      // monitorEventLoopDelay alone reads p50 = 20 ms here (its resolution).
      expect(loop.percentileMs(50)).toBeLessThan(10);
      loop.reset();
      await sleep(30);
      const start = Date.now();
      while (Date.now() - start < 120) {
        // a blocked loop
      }
      await sleep(60);
      expect(loop.maxMs).toBeGreaterThan(80);
      expect(loop.maxMs).toBeLessThan(200);
    } finally {
      loop.dispose();
    }
  });
});
