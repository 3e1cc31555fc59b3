type Listener = (...args: any[]) => void;

export type Emitter = ReturnType<typeof createEmitter>;

/**
 * The platform's error reporting: `reportError` where there is one (browsers: the console and
 * the window's `error` event), else `console.error`.
 */
export function reportListenerError(error: unknown): void {
  ((globalThis as { reportError?: (error: unknown) => void }).reportError ?? console.error)(error);
}

/**
 * Listeners by key: a server event's name, or a symbol for the client's own channels (named by
 * its description). A listener that throws is reported to `report` with that name, never
 * rethrown: it can neither break the client nor, from a microtask, end a Node process.
 */
export function createEmitter(report: (error: unknown, event: string) => void) {
  /** Per key, each listener as added → the function called (a wrapper for `once`). */
  const buckets = new Map<string | symbol, Map<Listener, Listener>>();
  const off = (key: string | symbol, fn: Listener) => {
    buckets.get(key)?.delete(fn);
  };
  return {
    off,
    /** Adds a listener (called once when `once`); returns its unsubscribe function. */
    on(key: string | symbol, fn: Listener, once?: boolean): () => void {
      const bucket = buckets.get(key) ?? new Map<Listener, Listener>();
      buckets.set(key, bucket);
      bucket.set(
        fn,
        once
          ? (...args) => {
              off(key, fn);
              fn(...args);
            }
          : fn,
      );
      return () => off(key, fn);
    },
    emit(key: string | symbol, ...args: unknown[]): void {
      for (const fn of buckets.get(key)?.values() ?? []) {
        try {
          fn(...args);
        } catch (error) {
          try {
            report(error, (key as symbol).description ?? (key as string));
          } catch {
            // A reporter that throws has nowhere left to report to.
          }
        }
      }
    },
  };
}
