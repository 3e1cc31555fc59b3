import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { onTestFinished } from 'vitest';

/**
 * Capturing the log lines a test provokes on purpose, so a green run prints no `ERROR` lines.
 *
 * The policy: capture only where a test provokes a failure, and only the lines it expects.
 * `captureLogs(/handler failed/, ...)` makes a collector the sink of every Nest `Logger` (the
 * library's loggers delegate to it at call time) until the test ends:
 * - every line (any level) is recorded as `{ level, context, message }` for the test to assert;
 * - a line matching one of the given patterns stays quiet, unless the test fails: then the
 *   quiet lines are printed after it, to help explain the failure;
 * - any other line goes on to the logger Nest would have used without the capture, with the
 *   levels Nest would have used, so unexpected errors stay visible exactly as before.
 * Nest replaces the global logger when an app is built (`Test.createTestingModule().compile()`
 * installs its TestingLogger, `createNestApplication({ logger })`, `NestFactory.create(..., {
 * logger })` and `app.useLogger()` call `Logger.overrideLogger`). While a capture runs, those
 * calls are only recorded, as the logger to forward to and to restore afterwards, and the
 * collector stays in place. Tests without a capture are untouched.
 *
 * Child processes (test fixtures, the demo process) log to their own stdout/stderr, which the
 * tests pipe and show only in a failure message.
 */

export interface LogEntry {
  level: LogLevel;
  /** The logger's context (`WsHub` for the library), when it has one. */
  context: string | undefined;
  message: string;
}

export interface LogCapture {
  /** Every line logged since the capture started, in order. */
  readonly entries: readonly LogEntry[];
  /** Messages logged at level `error` or `fatal`. */
  errors(): string[];
  /** Messages logged at level `warn`. */
  warnings(): string[];
  /** Messages logged at `level`, or at any level. */
  messages(level?: LogLevel): string[];
  /** Ends the capture now (it otherwise ends with the test). */
  restore(): void;
}

/** What a Nest `Logger` passes on to the global logger service. */
type Sink = LoggerService | undefined;

interface NestLoggerStatics {
  staticInstanceRef?: Sink;
  logLevels?: LogLevel[];
  overrideLogger(logger: LoggerService | LogLevel[] | boolean): unknown;
}

const statics = Logger as unknown as NestLoggerStatics;
let active: Capture | undefined;

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  try {
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

/**
 * A Nest `Logger` appends its context as the last argument (for `error`, after the stack or an
 * `undefined` placeholder).
 */
function contextOf(params: unknown[]): string | undefined {
  const last = params.at(-1);
  return params.length > 0 && typeof last === 'string' ? last : undefined;
}

class Capture implements LogCapture {
  readonly entries: LogEntry[] = [];
  private readonly quiet: { level: LogLevel; args: unknown[] }[] = [];
  private readonly savedOverride = statics.overrideLogger;
  /** What Nest asked for meanwhile: replayed on restore, and where unexpected lines go. */
  private requested: Sink;
  private requestedLevels: LogLevel[] | undefined;
  private stopped = false;

  constructor(private readonly expected: RegExp[]) {
    this.requested = statics.staticInstanceRef;
    this.requestedLevels = statics.logLevels;
    statics.overrideLogger = (logger: LoggerService | LogLevel[] | boolean) => {
      if (Array.isArray(logger)) {
        this.requestedLevels = logger;
        this.requested?.setLogLevels?.(logger);
      } else {
        this.requested = typeof logger === 'object' && logger !== null ? logger : undefined;
      }
    };
    const sink = Object.fromEntries(
      (['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const).map((level) => [
        level,
        (message: unknown, ...params: unknown[]) => this.record(level, message, params),
      ]),
    ) as unknown as LoggerService;
    this.savedOverride.call(Logger, sink);
  }

  private record(level: LogLevel, message: unknown, params: unknown[]): void {
    const entry = { level, context: contextOf(params), message: text(message) };
    this.entries.push(entry);
    if (this.expected.some((pattern) => pattern.test(entry.message))) {
      this.quiet.push({ level, args: [message, ...params] });
    } else {
      this.forward(level, [message, ...params]);
    }
  }

  private forward(level: LogLevel, args: unknown[]): void {
    const target = this.requested as Record<LogLevel, ((...a: unknown[]) => void) | undefined>;
    target?.[level]?.(...args);
  }

  errors(): string[] {
    return this.entries
      .filter((e) => e.level === 'error' || e.level === 'fatal')
      .map((e) => e.message);
  }

  warnings(): string[] {
    return this.messages('warn');
  }

  messages(level?: LogLevel): string[] {
    return this.entries.filter((e) => !level || e.level === level).map((e) => e.message);
  }

  restore(): void {
    if (this.stopped) return;
    this.stopped = true;
    statics.overrideLogger = this.savedOverride;
    this.savedOverride.call(Logger, this.requested ?? false);
    if (this.requestedLevels) statics.logLevels = this.requestedLevels;
    if (active === this) active = undefined;
  }

  /** At the end of the test: restores, and prints the quiet lines when the test failed. */
  finish(failed: boolean): void {
    this.restore();
    if (!failed) return;
    // Shown even where Nest's TestingLogger would drop the level: they explain the failure.
    for (const { level, args } of this.quiet.splice(0)) {
      const line = args.filter((a) => a !== undefined).map(text);
      process.stderr.write(`[captured ${level}] ${line.join(' ')}\n`);
    }
  }
}

/**
 * Captures log lines until the current test ends (call it inside a test). Lines matching
 * `expected` are kept quiet unless the test fails; all others are also printed as usual.
 */
export function captureLogs(...expected: RegExp[]): LogCapture {
  if (active) throw new Error('captureLogs(): a capture is already running');
  const capture = new Capture(expected);
  active = capture;
  onTestFinished((context) => capture.finish(context.task.result?.state === 'fail'));
  return capture;
}
