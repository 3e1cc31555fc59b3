// Runs in an ESM app without ioredis: the Redis entry and the module's `redis` option must
// both say what to install, not fail with a raw ERR_MODULE_NOT_FOUND (the option first: it
// loads the adapter itself).
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsHubModule } from 'ws-hub';

const HINT = 'npm install ioredis';
const problems = [];

class AppModule {}
Module({ imports: [WsHubModule.forRoot({ redis: { url: 'redis://127.0.0.1:1' } })] })(AppModule);
const startup = await NestFactory.create(AppModule, { logger: false, abortOnError: false }).then(
  async (app) => {
    await app.close();
    return 'it started';
  },
  (err) => String(err?.message),
);
if (!startup.includes(HINT)) problems.push(`forRoot({ redis }): ${startup}`);

const entry = await import('ws-hub/redis').then(
  () => 'it loaded',
  (err) => String(err?.message),
);
if (!entry.includes(HINT)) problems.push(`import('ws-hub/redis'): ${entry}`);

if (problems.length > 0) {
  console.error(`missing ioredis not explained:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`missing ioredis explained: ${entry}`);
