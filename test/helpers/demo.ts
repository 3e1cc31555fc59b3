import { Test } from '@nestjs/testing';
import { DemoModule } from '../../src/demo/demo.module.js';

/**
 * Starts the demo app on an ephemeral port of 127.0.0.1 (or on `port`, e.g. to restart it where
 * its pages expect it) with extra environment variables (read by its config at construction,
 * then restored). `ws` is the origin, without path.
 */
export async function startDemo(env: Record<string, string> = {}, port = 0) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(port, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    return {
      app,
      port: address.port,
      base: `http://127.0.0.1:${address.port}`,
      ws: `ws://127.0.0.1:${address.port}`,
    };
  } finally {
    process.env = saved;
  }
}
