import {
  faultTable,
  fmtConn,
  fmtFrame,
  type CheckResult,
  type Figures,
  type Violation,
} from './checker.js';
import type { History } from './history.js';

/**
 * Readable output: the figures of a run, and each violation with only the history that shows
 * it (the connection, the frames of the stream around it, the faults just before it).
 */

const s = (t: number) => `${(t / 1000).toFixed(3)}s`;

/** The faults in the `windowMs` before `t`. */
function faultsBefore(history: History, t: number, windowMs = 6_000): string[] {
  return history.faults
    .filter((f) => !f.skipped && f.t <= t && (f.tEnd ?? f.t) >= t - windowMs)
    .map(
      (f) =>
        `${s(f.t)}${f.tEnd !== undefined ? `-${s(f.tEnd)}` : ''} fault ${f.kind}` +
        `${f.instance !== undefined ? ` inst ${f.instance}` : ''}` +
        `${f.client !== undefined ? ` client ${f.client}` : ''}` +
        `${f.connection !== undefined ? ` conn ${f.connection}` : ''}` +
        `${f.stream ? ` ${f.stream}` : ''}${f.detail ? `: ${f.detail}` : ''}`,
    );
}

export function formatViolation(history: History, v: Violation): string {
  const head = `[${v.kind}] seed ${history.config.seed} at ${s(v.t)}${
    v.client !== undefined ? ` client ${v.client}` : ''
  }${v.stream ? ` ${v.stream}` : ''}: ${v.message}`;
  const lines = [...v.evidence, ...faultsBefore(history, v.t)];
  return [head, ...lines.map((l) => `    ${l}`)].join('\n');
}

/**
 * The violations grouped by kind: every kind with its count and its first `perKind` cases in
 * full (the rest are usually the same fault seen by other clients).
 */
export function formatViolations(history: History, result: CheckResult, perKind = 3): string {
  const byKind = new Map<string, Violation[]>();
  for (const v of result.violations) {
    let list = byKind.get(v.kind);
    if (!list) byKind.set(v.kind, (list = []));
    list.push(v);
  }
  const out: string[] = [];
  for (const [kind, list] of byKind) {
    out.push(`${kind}: ${list.length}`);
    for (const v of list.slice(0, perKind)) out.push(formatViolation(history, v));
  }
  return out.join('\n');
}

export function formatFigures(f: Figures): string {
  const faults = faultTable(f)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const closes = Object.entries(f.closes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c}:${n}`)
    .join(' ');
  return [
    `messages published ${f.published} (answered ${f.acked})`,
    `frames checked ${f.pushFrames} (positioned ${f.positionedFrames}, unpositioned ${f.unpositionedFrames}) and ${f.skipFrames} skip frames, app deliveries ${f.appDeliveries}`,
    `connections ${f.connections}, welcomes ${f.welcomes} (recovered ${f.welcomesRecovered}, not ${f.welcomesNotRecovered}), continuity breaks ${f.continuityBreaks}`,
    `closes ${closes}`,
    `faults ${faults || 'none'}${f.faultsSkipped ? ` (${f.faultsSkipped} skipped)` : ''}`,
    `instance ERROR lines ${f.instanceErrorLines}; error replies ${
      Object.entries(f.errorReplies)
        .map(([c, n]) => `${c}:${n}`)
        .join(' ') || 'none'
    }`,
  ].join('\n');
}

/** Adds one run's figures into a total. */
export function addFigures(total: Figures, f: Figures): Figures {
  const sum = (a: Record<string, number>, b: Record<string, number>) => {
    for (const [k, n] of Object.entries(b)) a[k] = (a[k] ?? 0) + n;
    return a;
  };
  return {
    published: total.published + f.published,
    acked: total.acked + f.acked,
    connections: total.connections + f.connections,
    welcomes: total.welcomes + f.welcomes,
    welcomesRecovered: total.welcomesRecovered + f.welcomesRecovered,
    welcomesNotRecovered: total.welcomesNotRecovered + f.welcomesNotRecovered,
    pushFrames: total.pushFrames + f.pushFrames,
    positionedFrames: total.positionedFrames + f.positionedFrames,
    unpositionedFrames: total.unpositionedFrames + f.unpositionedFrames,
    skipFrames: total.skipFrames + (f.skipFrames ?? 0),
    appDeliveries: total.appDeliveries + f.appDeliveries,
    closes: sum({ ...total.closes }, f.closes),
    continuityBreaks: total.continuityBreaks + f.continuityBreaks,
    faults: sum({ ...total.faults } as Record<string, number>, f.faults as Record<string, number>),
    faultsSkipped: total.faultsSkipped + f.faultsSkipped,
    instanceErrorLines: total.instanceErrorLines + f.instanceErrorLines,
    errorReplies: sum({ ...total.errorReplies }, f.errorReplies),
  };
}

export const EMPTY_FIGURES: Figures = {
  published: 0,
  acked: 0,
  connections: 0,
  welcomes: 0,
  welcomesRecovered: 0,
  welcomesNotRecovered: 0,
  pushFrames: 0,
  positionedFrames: 0,
  unpositionedFrames: 0,
  skipFrames: 0,
  appDeliveries: 0,
  closes: {},
  continuityBreaks: 0,
  faults: {},
  faultsSkipped: 0,
  instanceErrorLines: 0,
  errorReplies: {},
};

/**
 * One client's whole story from a saved history: each connection (presented, welcome, end),
 * its room requests and the frames it got (of one stream only, with `stream`), and the faults
 * around. For reading a failing seed's JSON.
 */
export function formatClient(history: History, index: number, stream?: string): string {
  const client = history.clients.find((c) => c.index === index);
  if (!client) return `no client ${index}`;
  const out: string[] = [`client ${index} (${client.kind}, user ${client.userId})`];
  for (const c of client.connections) {
    out.push(fmtConn(c));
    const lines: [number, string][] = [
      ...c.requests.map((r): [number, string] => [r.t, `${s(r.t)} -> ${r.op}#${r.id} ${r.room}`]),
      ...c.frames
        .filter((f) => !stream || f.pos?.[stream] !== undefined || f.m === undefined)
        .map((f): [number, string] => [f.t, fmtFrame(c, f)]),
    ];
    lines.sort((a, b) => a[0] - b[0]);
    for (const [, l] of lines) out.push(`    ${l}`);
  }
  out.push(...faultsBefore(history, history.tEnd, history.tEnd).map((l) => `fault: ${l}`));
  return out.join('\n');
}
