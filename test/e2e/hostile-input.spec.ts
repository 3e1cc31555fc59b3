import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BadRequestException,
  Controller,
  Get,
  Header,
  Inject,
  Module,
  ServiceUnavailableException,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WsException } from '@nestjs/websockets';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { throwError } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  HubError,
  HubGateway,
  HubMetrics,
  HubService,
  WsHubModule,
  type WsHubModuleOptions,
} from '../../src/ws-hub/index.js';
import { sleep, TestClient, waitFor, type Frame } from '../helpers/client.js';
import { ensureLibraryBuilt } from '../helpers/hub-instance.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * Issue 16, item 1: nothing a client sends, and nothing an app handler throws or returns with
 * it, may crash the process, leave a frame unanswered or block the event loop for long. The app
 * (test/fixtures/hostile-app.mjs) runs in a child process, so that a crash (an unhandled
 * rejection, an uncaught exception) shows as its exit instead of killing the test runner.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/fixtures/hostile-app.mjs');

/** Longest event-loop block accepted for one batch of frames (measured in the child). */
const MAX_LOOP_DELAY_MS = 500;
/** Frames per batch (pipelined), batches per property: 200 frames per handler family. */
const BATCH = 8;
const RUNS = 25;
const SEED = 16_016;

interface LogLine {
  level: string;
  message: string;
  /** When the test received it (performance.now()). */
  atMs: number;
}

interface ChildApp {
  url: string;
  logs: LogLine[];
  /** Everything the child wrote to stderr that is not a log line (crash reports). */
  other(): string;
  exitCode(): number | null;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

async function spawnHostileApp(): Promise<ChildApp> {
  ensureLibraryBuilt();
  const child = spawn(process.execPath, [fixture], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let other = '';
  let pending = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^LOG (\w+) (.*)$/.exec(line);
      if (m)
        logs.push({ level: m[1], message: JSON.parse(m[2]) as string, atMs: performance.now() });
      else other += line + '\n';
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app not ready within 15 s: ${other}`)),
      15_000,
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`app exited (${code}) before READY: ${other}`));
    });
  });
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    logs,
    other: () => other,
    exitCode: () => child.exitCode,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// ------------------------------------------------------------------ hostile JSON (as text)

/** Repeats `open` n times around `inner`, then `close` n times: nesting without recursion. */
const nest = (n: number, open: string, inner: string, close: string) =>
  open.repeat(n) + inner + close.repeat(n);

const deepArrays = (max: number) => fc.integer({ min: 1, max }).map((n) => nest(n, '[', '', ']'));
const deepObjects = (max: number) =>
  fc.integer({ min: 1, max }).map((n) => nest(n, '{"a":', '1', '}'));
const longArrays = (max: number) =>
  fc
    .tuple(fc.integer({ min: 0, max }), fc.constantFrom('0', '[]', '{}', '"x"', 'null', '1e400'))
    .map(([n, item]) => '[' + Array<string>(n).fill(item).join(',') + ']');
const wideObjects = (max: number) =>
  fc
    .integer({ min: 0, max })
    .map((n) => '{' + Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',') + '}');
/** Numbers JSON allows and JavaScript cannot hold exactly (or at all). */
const bigNumbers = fc.constantFrom(
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  '1e308',
  '1e400',
  '-1e400',
  '5e-324',
  '1e-400',
  '-0',
);
/** Strings that are not valid UTF-16 once parsed (lone surrogates), NUL, BOM, escapes. */
const badStrings = fc
  .array(
    fc.constantFrom('\\ud800', '\\udfff', '\\udc00\\ud800', '\\u0000', '\\ufeff', '\\uffff', 'x'),
    { maxLength: 40 },
  )
  .map((parts) => '"' + parts.join('') + '"');
const attackerKeys = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toJSON',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'then',
  'message',
  'code',
  'details',
  'stack',
  '\\ud800',
);
const smallValue = fc.oneof(
  bigNumbers,
  badStrings,
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => JSON.stringify(s)),
  deepArrays(50),
);
const prototypeObjects = fc
  .array(fc.tuple(attackerKeys, smallValue), { maxLength: 8 })
  .map((entries) => '{' + entries.map(([k, v]) => `"${k}":${v}`).join(',') + '}');
/** One large hostile value: at most 16 KB of nesting, or about as much of width. */
const bigValue = fc.oneof(
  deepArrays(8_000),
  deepObjects(2_600),
  longArrays(4_000),
  wideObjects(1_200),
);
/**
 * What the handlers get: a hostile value on its own, or one hidden in the shape the DTO and
 * the error-echoing handlers expect (`name`, `count`, `items[].text`, `code`, `message`,
 * `details`), so that validation and error building reach it.
 */
const hostileBody = fc.oneof(
  bigValue,
  smallValue,
  prototypeObjects,
  fc
    .record({
      slot: fc.constantFrom('name', 'count', 'text', 'meta', 'message', 'details', 'code'),
      big: bigValue,
      small: smallValue,
      extra: prototypeObjects,
      code: fc.oneof(
        fc.constantFrom('"CODE_FROM_INPUT"', '"lower"', '"A_' + 'B'.repeat(100) + '"'),
        smallValue,
      ),
    })
    .map(({ slot, big, small, extra, code }) => {
      const at = (name: string) => (slot === name ? big : small);
      return (
        `{"name":${at('name')},"count":${at('count')},"items":[{"text":${at('text')}}],` +
        `"meta":${slot === 'meta' ? big : extra},"code":${slot === 'code' ? big : code},` +
        `"message":${at('message')},"details":${at('details')}}`
      );
    }),
);

// ------------------------------------------------------------------ the handler families

const FAMILIES: Record<string, string[]> = {
  'an app gateway throwing WsException({ message, details }) with the input': [
    'gw-details',
    'gw-details-async',
    'gw-bigint',
    'gw-circular',
    'gw-code-from-input',
  ],
  'ValidationPipe: the default, forbidNonWhitelisted, and exceptionFactory giving out the raw ValidationError[]':
    ['vp-default', 'vp-whitelist', 'vp-raw-details', 'vp-raw-http', 'vp-raw-thrown'],
  'app gateway replies (echoed, BigInt, circular, async) and thrown non-errors': [
    'gw-echo',
    'gw-echo-async',
    'gw-reply-bigint',
    'gw-reply-circular',
    'gw-throw-input',
  ],
  'HubService.handle handlers, sync and async, throwing and returning': [
    'h-details',
    'h-details-async',
    'h-bigint',
    'h-bigint-async',
    'h-circular',
    'h-circular-async',
    'h-hub-error',
    'h-echo',
    'h-echo-async',
    'h-reply-bigint',
    'h-reply-circular',
    'h-reject-input',
    'h-reject-nothing',
    'h-bad-thenable',
  ],
  'Observables that error, of gateways and of HubService.handle': [
    'gw-obs-error',
    'gw-obs-bigint',
    'gw-obs-echo',
    'gw-obs-internal',
    'h-obs-error',
    'h-obs-circular',
    'h-obs-echo',
    'h-obs-internal',
  ],
};

/** What a reply may be called, besides `error`. */
const REPLY_EVENTS = ['echoed', 'big', 'loop', 'valid'];
/** Texts of the fixture's internal errors and of the runtime's: never sent to a client. */
const INTERNAL_TEXTS = ['observable failed', 'thenable failed', 'Maximum call stack', 'RangeError'];

/** The error frame contract: bounded code, message and details; INTERNAL says nothing more. */
function expectWellFormedAnswer(frame: Frame, raw: string): void {
  for (const text of INTERNAL_TEXTS) expect(raw).not.toContain(text);
  if (frame.event !== 'error') {
    expect(REPLY_EVENTS).toContain(frame.event);
    return;
  }
  const { code, message, details } = frame.data as Record<string, unknown>;
  expect(typeof code).toBe('string');
  expect((code as string).length).toBeLessThanOrEqual(64);
  expect(typeof message).toBe('string');
  expect((message as string).length).toBeLessThanOrEqual(1_000);
  if (details !== undefined) expect(JSON.stringify(details).length).toBeLessThanOrEqual(8_192);
  if (code === 'INTERNAL') {
    expect(['internal error', 'reply could not be serialised']).toContain(message);
    expect(details).toBeUndefined();
  }
}

describe('hostile frames through app handlers, in a child process (fast-check)', () => {
  let app: ChildApp;
  let witness: TestClient;
  let startedMs = 0;
  const figures = { frames: 0, maxLoopDelayMs: 0, maxWitnessRttMs: 0 };

  /** Apps that exited meanwhile: each family gets a running app, so each verdict is its own. */
  const crashed: string[] = [];
  const launch = async () => {
    app = await spawnHostileApp();
    witness = await TestClient.welcomed(app.url);
  };
  const ensureRunning = async () => {
    if (app.exitCode() === null) return;
    crashed.push(app.other());
    witness.terminate();
    await launch();
  };

  beforeAll(async () => {
    await launch();
    startedMs = performance.now();
  }, 60_000);
  afterAll(async () => {
    witness?.terminate();
    await app?.stop();
  });

  /** Resolves when `check` holds; rejects at the deadline or as soon as the app exits. */
  const until = async (check: () => boolean, what: string, timeoutMs = 15_000) => {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (app.exitCode() !== null) {
        throw new Error(`the app exited with ${app.exitCode()} (${what}): ${app.other()}`);
      }
      if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  let round = 0;
  for (const [index, [family, events]] of Object.entries(FAMILIES).entries()) {
    it(`answers each of ${RUNS * BATCH} frames exactly once, and stays up: ${family}`, async () => {
      await ensureRunning();
      const c = await TestClient.welcomed(app.url);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(fc.constantFrom(...events), hostileBody), {
              minLength: BATCH,
              maxLength: BATCH,
            }),
            async (batch) => {
              round++;
              // Only this batch's frames are kept (echoed replies can be 60 KB each).
              c.frames.length = 0;
              c.raw.length = 0;
              const ids = batch.map((_, i) => `${round}.${i}`);
              batch.forEach(([event, body], i) =>
                c.ws.send(`{"event":"${event}","id":"${ids[i]}","data":${body}}`),
              );
              // Someone else's ping, sent right behind the batch: waits for whatever it blocks.
              const pingSentMs = performance.now();
              const pong = witness.request({ event: 'ping', id: `w${round}` }, 15_000);
              await until(
                () => ids.every((id) => c.frames.some((f) => f.id === id)),
                `answers to ${batch.map(([e]) => e).join(', ')}`,
              );
              await pong;
              const rttMs = performance.now() - pingSentMs;
              // 30 ms in the child after the last answer: a late duplicate would be here too.
              const stats = await c.request({ event: 'loop-stats', id: `${round}.stats` }, 5_000);
              for (const id of ids) {
                const answers = c.frames.filter((f) => f.id === id);
                expect(answers, `answers to frame ${id}`).toHaveLength(1);
              }
              c.frames.forEach((f, i) => {
                if (ids.includes(f.id as string)) expectWellFormedAnswer(f, c.raw[i]);
              });
              expect(stats.data.polluted).toBe(false);
              expect(stats.data.maxDelayMs).toBeLessThan(MAX_LOOP_DELAY_MS);
              expect(rttMs).toBeLessThan(MAX_LOOP_DELAY_MS * 2);
              figures.frames += batch.length;
              figures.maxLoopDelayMs = Math.max(figures.maxLoopDelayMs, stats.data.maxDelayMs);
              figures.maxWitnessRttMs = Math.max(figures.maxWitnessRttMs, rttMs);
            },
          ),
          // A failure is reported as found: shrinking 16 KB values would take minutes.
          { numRuns: RUNS, seed: SEED + index, endOnFailure: true },
        );
      } finally {
        c.terminate();
      }
      expect(app.exitCode()).toBeNull();
    }, 60_000);
  }

  it('was up all along, logged failures within the budget, and exits 0 on SIGTERM', async () => {
    expect(crashed).toEqual([]);
    expect(app.exitCode()).toBeNull();
    expect(figures.frames).toBe(RUNS * BATCH * Object.keys(FAMILIES).length);
    expect(app.other()).not.toMatch(/Unhandled|uncaught|Error:/i);
    // Nothing went past the dispatcher's own handling.
    expect(
      app.logs.filter((l) => /frame handling failed|answering client/.test(l.message)),
    ).toEqual([]);
    // Handler failures are logged 10 per 10 s per hub, the rest counted.
    const errors = app.logs.filter((l) => l.level === 'error' && l.atMs >= startedMs);
    const windows = Math.ceil((performance.now() - startedMs) / 10_000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(10 * (windows + 1));
    // the witness is still served
    expect(await witness.request({ event: 'message', id: 'end', data: 'alive' })).toMatchObject({
      event: 'ack',
      data: 'alive',
    });
    expect(await app.stop()).toBe(0);
  }, 20_000);
});

// ------------------------------------------------------------------ in-process apps

/** An internal failure as a database driver reports it: the address is nobody else's business. */
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), {
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
    address: '10.1.2.3',
    port: 5432,
  });

@HubGateway()
class LeakyGateway {
  @SubscribeMessage('ws-wrapped')
  wsWrapped() {
    throw new WsException(refused());
  }

  @SubscribeMessage('ws-wrapped-async')
  async wsWrappedAsync() {
    await sleep(1);
    throw new WsException(refused());
  }

  @SubscribeMessage('http-wrapped')
  httpWrapped() {
    throw new BadRequestException(refused());
  }

  @SubscribeMessage('http-5xx')
  http5xx() {
    throw new ServiceUnavailableException('database 10.1.2.3:5432 unreachable');
  }

  @SubscribeMessage('obs-wrapped')
  obsWrapped() {
    return throwError(() => new WsException(refused()));
  }

  @SubscribeMessage('details-error')
  detailsError() {
    throw new WsException({ message: 'database unavailable', details: refused() });
  }

  @SubscribeMessage('details-cause')
  detailsCause() {
    throw new WsException({ message: 'database unavailable', details: { cause: refused() } });
  }

  @SubscribeMessage('fail')
  fail() {
    throw new Error('db down');
  }

  @SubscribeMessage('refuse')
  refuse() {
    throw new HubError('NOT_ALLOWED', 'no');
  }

  @SubscribeMessage('throw-input')
  throwInput(@MessageBody() body: unknown) {
    throw body;
  }
}

@Controller()
class MetricsController {
  constructor(@Inject(HubMetrics) private readonly metrics: HubMetrics) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  scrape(): Promise<string> {
    return this.metrics.metrics();
  }
}

interface Started {
  app: INestApplication;
  hub: HubService;
  port: number;
  url: string;
}

async function start(
  options: WsHubModuleOptions = {},
  controllers: unknown[] = [],
): Promise<Started> {
  @Module({
    imports: [WsHubModule.forRoot(options)],
    providers: [LeakyGateway],
    controllers: controllers as never,
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { app, hub: app.get(HubService), port, url: `ws://127.0.0.1:${port}/ws` };
}

/** The HTTP status of a handshake (101 when it upgraded). */
async function handshakeStatus(url: string, options: Record<string, unknown> = {}) {
  const c = TestClient.open(url, options);
  try {
    await c.opened;
    c.terminate();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

describe('what reaches clients and logs (issue 16, items 2-5)', () => {
  let s: Started | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await s?.app.close();
    s = undefined;
  });
  const connect = async (url = s!.url) => {
    const c = await TestClient.welcomed(url);
    clients.push(c);
    return c;
  };

  it('answers INTERNAL "internal error" for an Error wrapped in WsException or HttpException, and logs its text', async () => {
    const logs = captureLogs(/handler failed/);
    s = await start();
    s.hub.handle('h-wrapped', () => {
      throw new WsException(refused());
    });
    s.hub.handle('h-wrapped-async', async () => {
      throw new WsException(refused());
    });
    const c = await connect();
    const events = [
      'ws-wrapped',
      'ws-wrapped-async',
      'http-wrapped',
      'http-5xx',
      'obs-wrapped',
      'h-wrapped',
      'h-wrapped-async',
    ];
    for (const event of events) {
      expect(await c.request({ event, id: event })).toEqual({
        event: 'error',
        id: event,
        data: { code: 'INTERNAL', message: 'internal error' },
      });
    }
    expect(c.raw.join('\n')).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|5432/);
    // The operator still learns what happened: one line per failure, with the text.
    expect(logs.errors()).toHaveLength(events.length);
    expect(
      logs.errors().filter((l) => l.includes('connect ECONNREFUSED 10.1.2.3:5432')),
    ).toHaveLength(events.length - 1);
    expect(logs.errors()).toContainEqual(
      expect.stringContaining('database 10.1.2.3:5432 unreachable'),
    );
  });

  it('never sends an Error that an app put in WsException details (its code, address, port)', async () => {
    s = await start();
    const c = await connect();
    for (const event of ['details-error', 'details-cause']) {
      const reply = await c.request({ event, id: event });
      expect(reply).toMatchObject({ event: 'error', id: event });
      expect(JSON.stringify(reply)).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|5432|errno|syscall/);
    }
  });

  it('logs an authenticate error without the token, its parts or the query string, whichever carries it', async () => {
    const logs = captureLogs(/authenticate failed/);
    s = await start({
      authenticate: (request, { token }) => {
        const signature = token?.split('.')[1];
        throw new Error(
          `token ${token} is not a JWT (signature ${signature} unknown, url ${request.url})`,
        );
      },
    });
    const token = 'bad.SECRET-abc123';
    expect(await handshakeStatus(s.url, { protocols: ['ws-hub.v1', `bearer.${token}`] })).toBe(500);
    expect(await handshakeStatus(s.url, { headers: { authorization: `Bearer ${token}` } })).toBe(
      500,
    );
    expect(await handshakeStatus(`${s.url}?token=${token}&tenant=acme-corp-77`)).toBe(500);
    await sleep(20);
    expect(logs.errors()).toHaveLength(3);
    for (const line of logs.errors()) expect(line).toMatch(/^authenticate failed: .*is not a JWT/);
    const all = logs.entries.map((e) => e.message).join('\n');
    for (const secret of [token, 'SECRET-abc123', 'SECRET', 'abc123', 'acme-corp-77', 'token=']) {
      expect(all).not.toContain(secret);
    }
    expect(s.hub.stats().rejectedHandshakes['500']).toBe(3);
  });

  it('logs an authenticate error without the session cookie it failed on', async () => {
    const logs = captureLogs(/authenticate failed/);
    s = await start({
      authenticate: (request) => {
        const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
        throw new Error(`session ${sid} not found`);
      },
    });
    expect(
      await handshakeStatus(s.url, {
        headers: { cookie: 'theme=dark; sid=s3ss10n-C00KIE-9f8e7d' },
      }),
    ).toBe(500);
    await sleep(20);
    expect(logs.errors()).toHaveLength(1);
    expect(logs.entries.map((e) => e.message).join('\n')).not.toContain('C00KIE');
  });

  it('logs authenticate failures at a bounded rate: a stream of bad handshakes cannot flood the log', async () => {
    const logs = captureLogs(/authenticate failed/);
    s = await start({
      authenticate: () => {
        throw new Error('jwt malformed');
      },
    });
    for (let i = 0; i < 40; i++) expect(await handshakeStatus(`${s.url}?token=t${i}`)).toBe(500);
    expect(s.hub.stats().rejectedHandshakes['500']).toBe(40);
    expect(logs.errors().length).toBeGreaterThan(0);
    expect(logs.errors().length).toBeLessThanOrEqual(10);
  });

  it('closes a connection with 1011 after maxHandlerFailures + 1 failures, logging at most 10 lines; others unaffected', async () => {
    const logs = captureLogs(/handler failed/);
    s = await start();
    const witness = await connect();
    const c = await connect();
    for (let i = 0; i < 150; i++) c.send({ event: 'fail', id: i });
    expect(await c.closed()).toBe(1011);
    expect(c.closeReason).toBe('too many failed frames');
    // maxHandlerFailures (10) answers, then the close instead of the 11th
    expect(c.events('error')).toHaveLength(10);
    for (const f of c.events('error')) {
      expect(f.data).toEqual({ code: 'INTERNAL', message: 'internal error' });
    }
    await waitFor(() => s!.hub.online === 1);
    expect(await witness.request({ event: 'message', id: 'w', data: 'fine' })).toMatchObject({
      event: 'ack',
      data: 'fine',
    });
    await sleep(50);
    expect(logs.errors().length).toBeGreaterThanOrEqual(1);
    expect(logs.errors().length).toBeLessThanOrEqual(10);
    for (const line of logs.errors()) expect(line).toMatch(/handler failed for client .*: db down/);
  });

  it('keeps one log budget per hub: two connections failing at once (sync gateway, async HubService.handle) log at most 10 lines', async () => {
    const logs = captureLogs(/handler failed/);
    s = await start();
    s.hub.handle('fail-async', async () => {
      await sleep(1);
      throw new Error('db down (async)');
    });
    const witness = await connect();
    const a = await connect();
    const b = await connect();
    for (let i = 0; i < 150; i++) {
      a.send({ event: 'fail', id: i });
      b.send({ event: 'fail-async', id: i });
    }
    expect(await a.closed()).toBe(1011);
    expect(await b.closed()).toBe(1011);
    expect(b.closeReason).toBe('too many failed frames');
    await waitFor(() => s!.hub.online === 1);
    expect(await witness.request({ event: 'ping', id: 'w' })).toMatchObject({ event: 'pong' });
    await sleep(50);
    // 22 failures in all (11 each), 10 lines for both: whichever came first
    expect(logs.errors().length).toBe(10);
    for (const line of logs.errors()) expect(line).toMatch(/handler failed .*: db down/);
  });

  it('does not count errors an app means to send: 150 HubErrors are all answered, the connection stays', async () => {
    const logs = captureLogs(/handler failed/);
    s = await start();
    const c = await connect();
    for (let i = 0; i < 149; i++) c.send({ event: 'refuse', id: i });
    expect(await c.request({ event: 'refuse', id: 149 })).toMatchObject({
      data: { code: 'NOT_ALLOWED' },
    });
    await c.request({ event: 'ping', id: 'after' });
    expect(c.events('error')).toHaveLength(150);
    expect(c.closeCode).toBeUndefined();
    expect(logs.errors()).toEqual([]);
  });

  it('never writes what a client sent into the log when a handler throws it (not an Error)', async () => {
    const logs = captureLogs(/handler failed/);
    s = await start();
    s.hub.handle('reject-input', (_ctx, data) => Promise.reject(data));
    const c = await connect();
    const payloads = [
      Array.from({ length: 300 }, (_, i) => `PAYLOAD-MARKER-${i}`),
      { message: 'PAYLOAD-MARKER in a message field', card: '4111 1111 1111 1111' },
      'PAYLOAD-MARKER as a string',
    ];
    for (const [i, data] of payloads.entries()) {
      for (const event of ['throw-input', 'reject-input']) {
        expect(await c.request({ event, id: `${event}-${i}`, data })).toMatchObject({
          data: { code: 'INTERNAL', message: 'internal error' },
        });
      }
    }
    expect(logs.errors()).toHaveLength(payloads.length * 2);
    for (const line of logs.errors()) {
      expect(line).not.toContain('PAYLOAD-MARKER');
      expect(line.length).toBeLessThan(500);
    }
  });

  it('bounds the error-code labels of /metrics: built-ins, declared codes, 20 others, then OTHER; app close codes under reason "other"', async () => {
    const registry = new Registry();
    s = await start(
      { metrics: { registry, errorCodes: ['DECLARED_ONE', 'DECLARED_TWO'] }, rateLimit: false },
      [MetricsController],
    );
    // A handler that builds its error code from the client's input, as the issue describes.
    s.hub.handle('coded', (_ctx, data: { code: string; close?: number }) => {
      throw new HubError(data.code, 'coded', data.close);
    });
    const c = await connect();
    const sendCode = async (code: string) => {
      const reply = await c.request({ event: 'coded', id: code, data: { code } });
      // The client still gets its code (cut at 64 characters): only the label is bounded.
      expect(reply.data.code).toBe(code.length <= 64 ? code : code.slice(0, 61) + '...');
    };
    for (let i = 0; i < 30; i++) await sendCode(`CLIENT_CODE_${i}`);
    await sendCode('DECLARED_ONE');
    await sendCode('not-upper-snake');
    await sendCode('LONG_' + 'X'.repeat(70));
    await c.request({ event: 'nope', id: 'unknown' }); // UNKNOWN_EVENT, built in

    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${s!.port}/metrics`);
      expect(res.status).toBe(200);
      const errors = new Map<string, number>();
      const closed = new Map<string, number>();
      for (const line of (await res.text()).split('\n')) {
        const m = /^ws_hub_(errors_total|connections_closed_total)\{(.*)\} (\S+)$/.exec(line);
        if (!m) continue;
        const label = /(?:code|reason)="([^"]*)"/.exec(m[2])![1];
        (m[1] === 'errors_total' ? errors : closed).set(label, Number(m[3]));
      }
      return { errors, closed };
    };
    const { errors } = await scrape();
    const builtIn = new Set<string>(Object.values(ErrorCode));
    const appLabels = [...errors.keys()].filter((k) => !builtIn.has(k));
    expect(appLabels.sort()).toEqual(
      [...Array.from({ length: 20 }, (_, i) => `CLIENT_CODE_${i}`), 'DECLARED_ONE', 'OTHER'].sort(),
    );
    // 10 past the first 20, one not UPPER_SNAKE, one too long
    expect(errors.get('OTHER')).toBe(12);
    expect(errors.get('UNKNOWN_EVENT')).toBe(1);
    expect(errors.get('CLIENT_CODE_0')).toBe(1);

    // 30 more distinct codes add no label
    for (let i = 30; i < 60; i++) await sendCode(`CLIENT_CODE_${i}`);
    const after = await scrape();
    expect([...after.errors.keys()].filter((k) => !builtIn.has(k)).length).toBe(appLabels.length);
    expect(after.errors.get('OTHER')).toBe(42);

    // A HubError with a close code: the connection's close counts under "other".
    const closing = await connect();
    closing.send({ event: 'coded', id: 'bye', data: { code: 'BANNED_FROM_INPUT_7', close: 4000 } });
    expect(await closing.closed()).toBe(4000);
    expect(closing.closeReason).toBe('BANNED_FROM_INPUT_7');
    await waitFor(() => s!.hub.online === 1);
    const { closed } = await scrape();
    expect(Object.fromEntries(closed)).toEqual({ other: 1 });
  });
});
