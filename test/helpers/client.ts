import { WebSocket, type ClientOptions } from 'ws';

export interface Frame {
  event: string;
  data?: any;
  id?: string | number;
}

/**
 * A real ws client that records every frame, so tests can wait for the next frame matching a
 * predicate (with a deadline) and assert what did not arrive.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  closeCode: number | undefined;
  closeReason: string | undefined;
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] =
    [];
  private closeWaiters: ((code: number) => void)[] = [];
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
          }),
        ),
      );
    });
    this.opened.catch(() => undefined);
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      this.raw.push(text);
      if (isBinary) return;
      let frame: Frame;
      try {
        frame = JSON.parse(text);
      } catch {
        return;
      }
      this.frames.push(frame);
      const index = this.frames.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index >= w.from && w.match(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.closeWaiters) w(code);
      this.closeWaiters = [];
    });
  }

  static async connect(
    url: string,
    options?: ClientOptions & { protocols?: string | string[] },
  ): Promise<TestClient> {
    const client = TestClient.open(url, options);
    await client.opened;
    return client;
  }

  static open(
    url: string,
    options?: ClientOptions & { protocols?: string | string[] },
  ): TestClient {
    const { protocols, ...rest } = options ?? {};
    return new TestClient(new WebSocket(url, protocols, rest));
  }

  /** Connects and waits for the welcome frame. */
  static async welcomed(
    url: string,
    options?: ClientOptions & { protocols?: string | string[] },
  ): Promise<TestClient & { id: string }> {
    const client = await TestClient.connect(url, options);
    const welcome = await client.next((f) => f.event === 'welcome');
    return Object.assign(client, { id: welcome.data.clientId as string });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or still to come) matching `match`. */
  next(match: (f: Frame) => boolean = () => true, timeoutMs = 3000, from = 0): Promise<Frame> {
    const found = this.frames.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({ match, resolve: done, from });
    });
  }

  /** Sends a frame and waits for the reply carrying its id. */
  async request(frame: Frame & { id: string | number }, timeoutMs = 3000): Promise<Frame> {
    const from = this.frames.length;
    this.send(frame);
    return this.next((f) => f.id === frame.id, timeoutMs, from);
  }

  /** Resolves with the close code once the connection is closed. */
  closed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not closed within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.closeWaiters.push((code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  events(name: string): Frame[] {
    return this.frames.filter((f) => f.event === name);
  }

  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.closeCode ?? 1006);
    const done = this.closed();
    this.ws.close();
    return done;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or the deadline passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  stepMs = 10,
): Promise<void> {
  // Monotonic: a test may step the wall clock (Date.now) meanwhile.
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
