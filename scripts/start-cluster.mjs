// Starts two demo instances sharing one Redis, so broadcasts can be watched crossing:
// open http://localhost:3000 and http://localhost:3001 side by side.
// Uses REDIS_URL when set; otherwise starts a private redis-server on a free port.
// Ports: CLUSTER_PORTS (default "3000,3001"). Ctrl+C stops everything.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

const children = [];
const stop = (code = 0) => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(redis);
  redis.on('error', (err) => {
    console.error(`could not start redis-server (${err.message}); install it or set REDIS_URL`);
    stop(1);
  });
  // wait until it accepts connections
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.end();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

if (!existsSync(new URL('../dist/demo/main.js', import.meta.url))) {
  console.error(
    'dist/demo/main.js is missing: run "npm run build" first (npm run start:cluster does)',
  );
  process.exit(1);
}
const redisUrl = process.env.REDIS_URL || (await startRedis());
const ports = (process.env.CLUSTER_PORTS || '3000,3001').split(',').map((p) => p.trim());
console.log(
  `cluster: ${ports.length} instances sharing ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`,
);
for (const port of ports) {
  const child = spawn(
    process.execPath,
    [new URL('../dist/demo/main.js', import.meta.url).pathname],
    {
      env: { ...process.env, PORT: port, REDIS_URL: redisUrl },
      stdio: 'inherit',
    },
  );
  children.push(child);
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGTERM') {
      console.error(`instance on port ${port} exited (${code ?? signal}); stopping the cluster`);
      stop(1);
    }
  });
}
