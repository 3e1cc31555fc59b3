import { Test } from '@nestjs/testing';
import { DemoModule } from '../../src/demo/demo.module.js';

/**
 * Starts the demo app on an ephemeral port of 127.0.0.1 with extra environment variables
 * (read by its config at construction, then restored). `ws` is the origin, without path.
 */
export async function startDemo(env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    return { app, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
  } finally {
    process.env = saved;
  }
}
