import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFailed } from 'vitest';
import { TestClient } from '../helpers/client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'dist/demo/main.js');

/** `npm test` builds first; a bare `vitest run` gets the same build here. */
function ensureBuilt(): void {
  if (existsSync(main)) return;
  execFileSync(process.execPath, [join(root, 'node_modules/@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: root,
    stdio: 'pipe',
  });
}

describe('demo process', () => {
  it('logs its URL, serves clients, and closes them with 1001 on SIGTERM, then exits', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [main], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', HUB_PATH: '/live' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    // The process's own log lines stay out of the runner's output unless the test fails.
    let output = '';
    onTestFailed(() => void process.stderr.write(`demo process output:\n${output}\n`));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL logged: ${output}`)), 15_000);
        const onData = (chunk: Buffer) => {
          output += chunk;
          const m =
            /listening on http:\/\/127\.0\.0\.1:(\d+) \(WebSocket ws:\/\/127\.0\.0\.1:\d+\/live\)/.exec(
              output,
            );
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
      });
      // the built demo serves the client library bundled from dist/ws-hub/client
      const bundle = await fetch(`http://127.0.0.1:${port}/hub-client.js`);
      expect(bundle.status).toBe(200);
      expect(await bundle.text()).toContain('dist/ws-hub/client/hub-client.js');
      const clients = await Promise.all(
        [1, 2].map(() => TestClient.welcomed(`ws://127.0.0.1:${port}/live`)),
      );
      expect(await clients[0].request({ event: 'message', id: 1, data: 'hi' })).toEqual({
        event: 'ack',
        id: 1,
        data: 'hi',
      });
      const closed = clients.map((c) => c.closed(10_000));
      child.kill('SIGTERM');
      expect(await Promise.all(closed)).toEqual([1001, 1001]);
      expect(clients.map((c) => c.closeReason)).toEqual([
        'server shutting down',
        'server shutting down',
      ]);
      // Nest's shutdown hooks re-raise the signal once the app is closed
      const [code, signal] = await exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
