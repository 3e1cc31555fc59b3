import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it, onTestFailed } from 'vitest';
import { sleep, TestClient } from '../helpers/client.js';
import { runDemoToExit, spawnDemo, type DemoProcess } from '../helpers/demo.js';
import { freePort } from '../helpers/redis-server.js';

/** Shows a demo process's own output only when the test fails. */
function showOnFailure(demo: () => DemoProcess | undefined): void {
  onTestFailed(() => {
    const output = demo()?.output();
    if (output) process.stderr.write(`demo process output:\n${output}\n`);
  });
}

/** The hub's default `shutdownTimeoutMs`: how long its shutdown waits for clients to answer. */
const SHUTDOWN_TIMEOUT_MS = 3_000;

describe('demo process', () => {
  it('logs its URL, serves clients, and drains them with 1012 on SIGTERM, then exits', async () => {
    let demo: DemoProcess | undefined;
    showOnFailure(() => demo);
    try {
      demo = await spawnDemo({ HUB_PATH: '/live', HUB_DRAIN_MS: '300' });
      expect(demo.output()).toMatch(
        /listening on http:\/\/127\.0\.0\.1:\d+ \(WebSocket ws:\/\/127\.0\.0\.1:\d+\/live\)/,
      );
      // the built demo serves the client library bundled from dist/ws-hub/client
      const bundle = await fetch(`${demo.base}/hub-client.js`);
      expect(bundle.status).toBe(200);
      expect(await bundle.text()).toContain('dist/ws-hub/client/hub-client.js');
      const clients = await Promise.all([1, 2].map(() => TestClient.welcomed(`${demo!.ws}/live`)));
      expect(await clients[0].request({ event: 'message', id: 1, data: 'hi' })).toEqual({
        event: 'ack',
        id: 1,
        data: 'hi',
      });
      const closed = clients.map((c) => c.closed(10_000));
      demo.kill('SIGTERM');
      expect(await Promise.all(closed)).toEqual([1012, 1012]);
      expect(clients.map((c) => c.closeReason)).toEqual(['server restarting', 'server restarting']);
      // Nest's shutdown hooks re-raise the signal once the app is closed
      const { code, signal } = await demo.exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    } finally {
      demo?.kill();
    }
  }, 30_000);

  it('on SIGTERM serves nothing more over a busy keep-alive connection and exits within the shutdown timeout + 1.5 s', async () => {
    let demo: DemoProcess | undefined;
    showOnFailure(() => demo);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let poller: NodeJS.Timeout | undefined;
    try {
      demo = await spawnDemo();
      const { port } = demo;
      // A client that never answers the close frame: the hub's shutdown waits its full
      // shutdownTimeoutMs for it, the window in which a stopping process used to keep serving.
      const stuck = await TestClient.welcomed(`${demo.ws}/ws`);
      stuck.ws.pause();

      type Answer = {
        sentAt: number;
        status: number | string;
        connection?: string;
        socket: number;
      };
      const answers: Answer[] = [];
      const sockets: net.Socket[] = [];
      const socketClosedAt = new Map<number, number>();
      const poll = () => {
        const sentAt = performance.now();
        const req = http.get({ host: '127.0.0.1', port, path: '/stats', agent }, (res) => {
          res.resume();
          res.on('end', () =>
            answers.push({
              sentAt,
              status: res.statusCode!,
              connection: res.headers.connection,
              socket: sockets.indexOf(req.socket!),
            }),
          );
        });
        req.on('socket', (socket: net.Socket) => {
          if (sockets.includes(socket)) return;
          const index = sockets.push(socket) - 1;
          socket.once('close', () => socketClosedAt.set(index, performance.now()));
        });
        req.on('error', (err: NodeJS.ErrnoException) =>
          answers.push({ sentAt, status: err.code ?? err.message, socket: -1 }),
        );
      };
      poll();
      poller = setInterval(poll, 200);
      await sleep(700);
      expect(answers.length).toBeGreaterThanOrEqual(3);
      expect(answers.every((a) => a.status === 200 && a.socket === 0)).toBe(true);

      const killedAt = performance.now();
      demo.kill('SIGTERM');
      const { code, signal } = await demo.exited;
      const exitMs = performance.now() - killedAt;
      await sleep(450); // two more polls against the exited process
      clearInterval(poller);

      // The kept-alive connection is closed by the server at its first request after SIGTERM
      // (one poll interval), not kept for the shutdown's length.
      expect(socketClosedAt.get(0)! - killedAt).toBeLessThan(1000);
      // After the signal (50 ms for it to arrive), no request is served: the process answers
      // 503 with Connection: close while it drains, then refuses connections once it is gone.
      const after = answers.filter((a) => a.sentAt > killedAt + 50);
      expect(after.length).toBeGreaterThanOrEqual(5);
      for (const a of after) {
        if (typeof a.status === 'number') {
          expect(a).toMatchObject({ status: 503, connection: 'close' });
        } else {
          expect(a.status).toBe('ECONNREFUSED');
        }
      }
      // no connection carried more than one answer after the signal
      const perSocket = after.filter((a) => a.socket >= 0).map((a) => a.socket);
      expect(new Set(perSocket).size).toBe(perSocket.length);
      expect(after.at(-1)!.status).toBe('ECONNREFUSED');
      // The shutdown waits for the stuck client (shutdownTimeoutMs), then the process exits.
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
      expect(exitMs).toBeGreaterThan(SHUTDOWN_TIMEOUT_MS - 500);
      expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1500);
      stuck.terminate();
    } finally {
      clearInterval(poller);
      agent.destroy();
      demo?.kill();
    }
  }, 30_000);

  it('refuses a bad environment value with one line naming the variable, exit code 1', async () => {
    const cases: [Record<string, string>, string][] = [
      [
        { HUB_PING_INTERVAL_MS: 'soon' },
        'demo: environment variable HUB_PING_INTERVAL_MS must be a whole number, got "soon"',
      ],
      [
        // refused by the library inside Nest's dependency injection (WsHubOptionsError)
        { HUB_PATH: 'live' },
        'demo: environment variable HUB_PATH gives an invalid hub option: WsHubModule: option "path" must be a string starting with "/", got "live"',
      ],
      [{ PORT: '70000' }, 'demo: environment variable PORT must be at most 65535, got "70000"'],
      [
        { HUB_COALESCE_WRITES: 'no' },
        'demo: environment variable HUB_COALESCE_WRITES must be "on" or "off", got "no"',
      ],
    ];
    const runs = await Promise.all(cases.map(([env]) => runDemoToExit(env)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i][1]).toBe(1);
      expect(run.stdout, cases[i][1]).toBe('');
      expect(run.stderr).toBe(`${cases[i][1]}\n`);
    });
  }, 60_000);

  it('on a port clash prints one line and exits 1 without saying it is ready', async () => {
    const port = await freePort();
    const holder = net.createServer();
    holder.listen(port, '127.0.0.1');
    await once(holder, 'listening');
    try {
      const run = await runDemoToExit({ PORT: String(port) });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `demo: cannot listen: port ${port} on 127.0.0.1 is already in use (EADDRINUSE): stop the other process or set PORT to a free port\n`,
      );
    } finally {
      holder.close();
    }
  }, 30_000);

  it('says "hub ready" and "listening" only once the port accepts connections', async () => {
    const port = await freePort();
    let demo: DemoProcess | undefined;
    showOnFailure(() => demo);
    try {
      const started = spawnDemo({ PORT: String(port) });
      demo = await started;
      const output = demo.output();
      // every startup line comes after the listen: the hub's summary, then the demo's URL
      expect(output.indexOf('hub ready on /ws')).toBeGreaterThan(-1);
      expect(output.indexOf('hub ready on /ws')).toBeLessThan(output.indexOf('listening on'));
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.destroy();
    } finally {
      demo?.kill();
    }
  }, 30_000);
});
