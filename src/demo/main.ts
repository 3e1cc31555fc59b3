import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HubService } from '../ws-hub/index.js';
import { DemoConfig } from './demo.config.js';
import { DemoModule } from './demo.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(DemoModule, { logger: ['log', 'error', 'warn'] });
  // SIGTERM/SIGINT run Nest's shutdown hooks, so clients get a 1001 close instead of a cut.
  app.enableShutdownHooks();
  const config = app.get(DemoConfig);
  const hubPath = app.get(HubService).options.path;
  if (config.host) await app.listen(config.port, config.host);
  else await app.listen(config.port);
  const { port } = app.getHttpServer().address() as { port: number };
  const host =
    config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';
  new Logger('Demo').log(
    `ws-hub demo listening on http://${host}:${port} (WebSocket ws://${host}:${port}${hubPath}) - open the page in two tabs`,
  );
}

bootstrap().catch((err: Error) => {
  // One clear line instead of a stack for configuration mistakes.
  console.error(
    err.name === 'WsHubOptionsError' || err.name === 'DemoConfigError' ? err.message : err,
  );
  process.exit(1);
});
