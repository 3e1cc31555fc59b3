import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HubService } from '../ws-hub/index.js';
import { DEMO_APP_OPTIONS } from './app-options.js';
import { DemoConfig } from './demo.config.js';
import { DemoModule } from './demo.module.js';
import { startupFailure } from './startup-failure.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(DemoModule, {
    ...DEMO_APP_OPTIONS,
    logger: ['log', 'error', 'warn'],
    // Startup lines are held back until the port listens, so nothing says "ready" before it is
    // (a port clash would otherwise follow "hub ready"), and a failed start prints only the
    // one line below instead of Nest's lines and its ExceptionHandler's stack.
    bufferLogs: true,
    autoFlushLogs: false,
    // A failure while building the app is thrown to the catch below instead of Nest's
    // process.exit(1) right after printing the stack.
    abortOnError: false,
  });
  // SIGTERM/SIGINT run Nest's shutdown hooks: the hub drains (not ready, 503 to new
  // connections, its clients closed with 1012 over HUB_DRAIN_MS) instead of cutting them.
  app.enableShutdownHooks();
  const config = app.get(DemoConfig);
  const hubPath = app.get(HubService).options.path;
  if (config.host) await app.listen(config.port, config.host);
  else await app.listen(config.port);
  app.flushLogs();
  const { port } = app.getHttpServer().address() as { port: number };
  const host =
    config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';
  new Logger('Demo').log(
    `ws-hub demo listening on http://${host}:${port} (WebSocket ws://${host}:${port}${hubPath}) - open the page in two tabs`,
  );
}

bootstrap().catch((err: unknown) => {
  const line = startupFailure(err);
  if (line) {
    console.error(line);
  } else {
    // Not a mistake the demo can name: everything Nest logged (its stack among it), then the error.
    Logger.flush();
    console.error(err);
  }
  process.exit(1);
});
