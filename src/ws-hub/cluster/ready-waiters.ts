/** Callers waiting for connections to become ready (`waitForReady`), released together. */
export class ReadyWaiters {
  private waiters: (() => void)[] = [];

  /** Resolves `isReady()` once released, or false after `timeoutMs`. */
  wait(isReady: () => boolean, timeoutMs: number): Promise<boolean> {
    if (isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(isReady());
      };
      this.waiters.push(done);
    });
  }

  /** Lets every waiter answer now. */
  release(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
