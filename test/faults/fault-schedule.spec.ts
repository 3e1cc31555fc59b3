import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureLibraryBuilt } from '../helpers/hub-instance.js';
import { check } from './checker.js';
import { FAULT_KINDS } from './history.js';
import { formatFigures, formatViolations } from './report.js';
import { runSchedule } from './run.js';

/**
 * The short fault schedule of `npm test` (issue 17): three instances on one Redis, raw protocol
 * clients and ws-hub/client clients joining, leaving, racing and reconnecting, a publisher at a
 * steady rate, and every fault kind once, in a seeded order; the checker then verifies the
 * recovery invariant from what the clients recorded. The long runs are
 * `npm run test:faults -- --seconds N --seed S` (test/faults/README.md).
 */

const SEED = 1717;
const SECONDS = 26;

// Building dist/ when src/ changed takes long on a busy machine (`npm test` builds first).
beforeAll(() => ensureLibraryBuilt(), 300_000);

describe('fault schedule (short)', () => {
  it('every fault kind once: no recovered: true hides a lost message, nothing leaks', async () => {
    const history = await runSchedule({
      seed: SEED,
      seconds: SECONDS,
      mode: 'each-once',
      faults: FAULT_KINDS,
      rawClients: 16,
      realClients: 3,
      publishRatePerS: 80,
    });
    const result = check(history);
    // The whole history goes to a file, for `--show` and `--recheck` whatever fails below.
    const dir = join(tmpdir(), 'ws-hub-faults');
    mkdirSync(dir, { recursive: true });
    const saved = join(dir, `short-seed-${SEED}-${process.pid}.json`);
    writeFileSync(saved, JSON.stringify({ history, violations: result.violations }));
    const figures = `${formatFigures(result.figures)}\nhistory: ${saved}`;
    if (process.env.SHOW_FIGURES) console.log(figures);

    // The schedule did what it says: traffic flowed, clients resumed, the faults happened.
    expect(result.figures.published, figures).toBeGreaterThan(SECONDS * 80 * 0.6);
    expect(result.figures.positionedFrames, figures).toBeGreaterThan(result.figures.published);
    expect(result.figures.welcomesRecovered, figures).toBeGreaterThan(16);
    const applied = history.faults.filter((f) => !f.skipped).map((f) => f.kind);
    expect(new Set(applied).size, figures).toBeGreaterThanOrEqual(FAULT_KINDS.length - 3);

    // The invariant, from the histories alone (the message lists each violation with the
    // frames and faults that show it; the whole history goes to a file).
    expect(
      result.violations.length,
      `seed ${SEED} (history: ${saved}):\n${formatViolations(history, result)}\n${figures}`,
    ).toBe(0);

    // No instance logged an error, no request was answered INTERNAL (a failure the hub did not
    // expect): what the faults cause is answered with codes a client can act on.
    const errors = history.logs.filter((l) => /\bERROR\b/.test(l.line)).map((l) => l.line);
    expect(errors.slice(0, 5), figures).toEqual([]);
    expect(result.figures.errorReplies.INTERNAL ?? 0, figures).toBe(0);
  }, 150_000);
});
