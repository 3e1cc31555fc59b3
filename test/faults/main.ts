import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLibraryBuilt } from '../helpers/hub-instance.js';
import { check, type Violation } from './checker.js';
import { FAULT_KINDS, type FaultKind } from './history.js';
import {
  addFigures,
  EMPTY_FIGURES,
  formatClient,
  formatFigures,
  formatViolations,
} from './report.js';
import { runSchedule } from './run.js';

/**
 * The long runner behind `npm run test:faults -- --seconds N --seed S`: consecutive schedules
 * (seeds S, S+1, ...) until N seconds have passed, each checked as soon as it ends; prints the
 * seed and the violations of every failing schedule (and writes its full history as JSON),
 * then the figures of the whole run. Exit code 1 when any schedule failed.
 */

const USAGE = `npm run test:faults -- [options]
  --seconds N            total time to run schedules for (default 120)
  --seed S               seed of the first schedule (default: random); schedule i uses S+i
  --schedule-seconds L   length of one schedule's faulty part (default 60; a schedule takes
                         about L + 20 s with setup and the quiet tail)
  --faults a,b,...       fault kinds to draw from (default: all; 'none': clients and publisher only):
                         ${FAULT_KINDS.join(', ')}
  --raw N --real N       raw protocol clients (default 24) and ws-hub/client clients (default 4)
  --rate R               messages published per second (default 100)
  --out DIR              where failing histories go (default: $TMPDIR/ws-hub-faults)
  --verbose              print each fault as it is applied, and the phases of each schedule
  --recheck FILE...      run the checker again on saved histories, and exit
  --show FILE --client N [--stream S]
                         print client N's connections, requests and frames (of stream S only)
                         from a saved history, and exit
To replay one schedule: --seed <its seed> --seconds <L> --schedule-seconds <L>.`;

interface Args {
  seconds: number;
  seed: number;
  scheduleSeconds: number;
  faults: FaultKind[];
  raw: number;
  real: number;
  rate: number;
  out: string;
  verbose: boolean;
}

function parse(argv: string[]): Args {
  const args: Args = {
    seconds: 120,
    seed: Math.floor(Math.random() * 1_000_000),
    scheduleSeconds: 60,
    faults: [...FAULT_KINDS],
    raw: 24,
    real: 4,
    rate: 100,
    out: join(tmpdir(), 'ws-hub-faults'),
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isFinite(n) || v === undefined) throw new Error(`${a} needs a number`);
      i++;
      return n;
    };
    if (a === '--seconds') args.seconds = num();
    else if (a === '--seed') args.seed = num();
    else if (a === '--schedule-seconds') args.scheduleSeconds = num();
    else if (a === '--raw') args.raw = num();
    else if (a === '--real') args.real = num();
    else if (a === '--rate') args.rate = num();
    else if (a === '--out') {
      args.out = String(v);
      i++;
    } else if (a === '--faults') {
      const kinds = v === 'none' ? [] : String(v).split(',');
      for (const k of kinds) {
        if (!FAULT_KINDS.includes(k as FaultKind)) throw new Error(`unknown fault kind ${k}`);
      }
      args.faults = kinds as FaultKind[];
      i++;
    } else if (a === '--verbose') args.verbose = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return args;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--recheck') {
    // The checker again on saved histories (after changing it, or to read one more closely).
    let failed = 0;
    for (const file of argv.slice(1)) {
      const { history } = JSON.parse(readFileSync(file, 'utf8'));
      const result = check(history);
      console.log(`${file}: seed ${history.config.seed}, ${result.violations.length} violations`);
      if (result.violations.length) {
        failed++;
        console.log(indent(formatViolations(history, result)));
      }
      console.log(indent(formatFigures(result.figures)));
    }
    return failed ? 1 : 0;
  }
  const show = argv.indexOf('--show');
  if (show >= 0) {
    const value = (flag: string) => {
      const i = argv.indexOf(flag);
      return i >= 0 ? argv[i + 1] : undefined;
    };
    const { history } = JSON.parse(readFileSync(argv[show + 1], 'utf8'));
    console.log(formatClient(history, Number(value('--client') ?? 0), value('--stream')));
    return 0;
  }
  const args = parse(argv);
  ensureLibraryBuilt();
  const started = Date.now();
  let total = EMPTY_FIGURES;
  let schedules = 0;
  const failed: { seed: number; violations: Violation[]; file: string }[] = [];
  const byKind: Record<string, number> = {};
  const harnessErrors: number[] = [];
  console.log(
    `fault schedules for ${args.seconds} s from seed ${args.seed} (${args.scheduleSeconds} s each, ${args.raw} raw + ${args.real} ws-hub/client clients, ${args.rate} msg/s)`,
  );
  for (let i = 0; ; i++) {
    const elapsed = (Date.now() - started) / 1000;
    const left = args.seconds - elapsed;
    if (i > 0 && left < 20) break;
    const seconds = Math.max(Math.min(args.scheduleSeconds, Math.round(left)), 10);
    const seed = args.seed + i;
    const t = Date.now();
    let history;
    try {
      history = await runSchedule({
        seed,
        seconds,
        rawClients: args.raw,
        realClients: args.real,
        publishRatePerS: args.rate,
        faults: args.faults,
        mode: 'random',
        log: args.verbose ? (line) => console.log(line) : undefined,
      });
    } catch (err) {
      // The harness itself failed (a port taken, a process that would not start): not a
      // verdict on the hub; say so and go on with the next seed.
      harnessErrors.push(seed);
      console.log(
        `seed ${seed}: harness error, not checked: ${String((err as Error)?.stack ?? err)}`,
      );
      continue;
    }
    const result = check(history);
    schedules++;
    total = addFigures(total, result.figures);
    for (const v of result.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
    const took = ((Date.now() - t) / 1000).toFixed(0);
    const faults = history.faults.filter((f) => !f.skipped).length;
    if (result.violations.length === 0) {
      console.log(
        `seed ${seed}: ok (${seconds} s, ${took} s wall, ${faults} faults, ${result.figures.published} messages, ${result.figures.pushFrames} frames)`,
      );
      continue;
    }
    mkdirSync(args.out, { recursive: true });
    const file = join(args.out, `seed-${seed}.json`);
    writeFileSync(file, JSON.stringify({ history, violations: result.violations }));
    failed.push({ seed, violations: result.violations, file });
    console.log(
      `seed ${seed}: FAILED, ${result.violations.length} violations (${seconds} s, ${took} s wall, ${faults} faults); history: ${file}`,
    );
    console.log(indent(formatViolations(history, result)));
    console.log(
      `  replay: npm run test:faults -- --seed ${seed} --seconds ${seconds} --schedule-seconds ${seconds}${
        args.faults.length < FAULT_KINDS.length ? ` --faults ${args.faults.join(',')}` : ''
      }`,
    );
  }
  console.log('');
  console.log(
    `${schedules} schedules in ${((Date.now() - started) / 1000).toFixed(0)} s, seeds ${args.seed}..${args.seed + schedules - 1}`,
  );
  console.log(formatFigures(total));
  const kinds = Object.entries(byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(
    `violations ${Object.values(byKind).reduce((a, b) => a + b, 0)}${kinds ? ` (${kinds})` : ''}`,
  );
  if (failed.length) console.log(`failing seeds: ${failed.map((f) => f.seed).join(', ')}`);
  if (harnessErrors.length)
    console.log(`harness errors (not checked): ${harnessErrors.join(', ')}`);
  return failed.length || harnessErrors.length ? 1 : 0;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
