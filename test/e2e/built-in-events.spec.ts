import type {
  ArgumentMetadata,
  CallHandler,
  ExecutionContext,
  PipeTransform,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { WsHubModule } from '../../src/ws-hub/index.js';
import { TestClient } from '../helpers/client.js';

/**
 * The built-in events through Nest's pipeline (an app with global enhancers): global guards,
 * interceptors and pipes see the same handlers and parameters as when they were written as
 * decorated methods of WsGateway (one `@SubscribeMessage` method each).
 */
describe('built-in events through Nest', () => {
  it('give guards their handler and class, and pipes the parameters they always had', async () => {
    const handlers: string[] = [];
    const piped: Record<string, string[]> = {};
    let event = '';
    const ref = await Test.createTestingModule({
      imports: [WsHubModule.forRoot({ rateLimit: false })],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    app.useGlobalGuards({
      canActivate(ctx: ExecutionContext) {
        event = ctx.switchToWs().getPattern();
        handlers.push(`${event}:${ctx.getClass().name}.${ctx.getHandler().name}`);
        return true;
      },
    });
    app.useGlobalInterceptors({
      intercept: (_ctx: ExecutionContext, next: CallHandler) => next.handle(),
    });
    const pipe: PipeTransform = {
      transform(value: unknown, metadata: ArgumentMetadata) {
        (piped[event] ??= []).push(
          `${metadata.type}:${metadata.metatype?.name ?? '-'}:${value === null ? 'null' : typeof value}`,
        );
        return value;
      },
    };
    app.useGlobalPipes(pipe);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const c = await TestClient.welcomed(`ws://127.0.0.1:${port}/ws`);
    try {
      expect(await c.request({ event: 'message', id: 1, data: { a: 1 } })).toEqual({
        event: 'ack',
        id: 1,
        data: { a: 1 },
      });
      expect(await c.request({ event: 'ping', id: 2 })).toMatchObject({ event: 'pong', id: 2 });
      expect(await c.request({ event: 'join', id: 3, data: { room: 'r' } })).toEqual({
        event: 'joined',
        id: 3,
        data: { room: 'r' },
      });
      expect(await c.request({ event: 'leave', id: 4, data: { room: 'r' } })).toEqual({
        event: 'left',
        id: 4,
        data: { room: 'r' },
      });
      expect(handlers.map((h) => h.replace(/^(\w+):\w+\./, '$1:WsGateway.'))).toEqual([
        'message:WsGateway.onMessage',
        'ping:WsGateway.onPing',
        'join:WsGateway.onJoin',
        'leave:WsGateway.onLeave',
      ]);
      // In the order Nest runs global pipes over the parameters (as it always did).
      expect(piped).toEqual({
        message: ['custom:Object:number', 'body:Object:object', 'custom:Object:object'],
        ping: ['custom:-:undefined', 'body:-:undefined', 'custom:-:object'],
        join: ['body:Object:object', 'custom:Object:object'],
        leave: ['body:Object:object', 'custom:Object:object'],
      });
    } finally {
      c.terminate();
      await app.close();
    }
  });
});
