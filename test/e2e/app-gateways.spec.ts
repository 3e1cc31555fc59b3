import {
  Catch,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type WsExceptionFilter,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
} from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { IsString, MaxLength } from 'class-validator';
import { finalize, interval, map, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  ConnectedClient,
  HubError,
  HubGateway,
  HubService,
  hubClientOf,
  WsHubModule,
  type HubConnectedClient,
  type WsHubModuleOptions,
} from '../../src/ws-hub/index.js';
import { captureLogs } from '../helpers/logs.js';
import { TestClient, waitFor, type Frame } from '../helpers/client.js';

class ChatDto {
  @IsString()
  @MaxLength(10)
  text!: string;
}

/** An authorization guard in a few lines: the hub's view of the client, from the context. */
@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return hubClientOf(context)?.principal?.role === 'admin';
  }
}

@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(
        map((v) =>
          v && typeof v === 'object' && 'event' in v
            ? { ...v, data: { ...(v as { data: object }).data, stamped: true } }
            : v,
        ),
      );
  }
}

class TeapotError extends Error {}

/** An app filter that reshapes its own exception into a hub error code. */
@Catch(TeapotError)
class TeapotFilter implements WsExceptionFilter {
  catch(): never {
    throw new WsException({ code: 'TEAPOT', message: 'short and stout' });
  }
}

const ticks = { ended: 0 };

@WebSocketGateway({ path: '/ws' })
@UseInterceptors(StampInterceptor)
class ChatGateway {
  @SubscribeMessage('chat')
  @UsePipes(new ValidationPipe())
  chat(@MessageBody() body: ChatDto, @ConnectedClient() client: HubConnectedClient) {
    return {
      event: 'chatted',
      data: { text: body.text, from: client.id, user: client.userId, rooms: client.rooms },
    };
  }

  @SubscribeMessage('admin')
  @UseGuards(AdminGuard)
  admin() {
    return 'granted';
  }

  @SubscribeMessage('ws-error')
  wsError() {
    throw new WsException('the room is full');
  }

  @SubscribeMessage('hub-error')
  async hubError() {
    throw new HubError('QUOTA_EXCEEDED', 'no more today');
  }

  @SubscribeMessage('crash')
  crash() {
    throw new Error('secret internals');
  }

  @SubscribeMessage('teapot')
  @UseFilters(TeapotFilter)
  teapot() {
    throw new TeapotError();
  }

  @SubscribeMessage('ticks')
  ticks() {
    return interval(20).pipe(
      map((n) => ({ event: 'tick', data: { n } })),
      finalize(() => ticks.ended++),
    );
  }

  @SubscribeMessage('socket')
  socket(@ConnectedSocket() socket: WebSocket) {
    return { event: 'socket', data: { readyState: socket.readyState } };
  }
}

/** Declared without repeating the path. */
@HubGateway()
class EchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return data;
  }
}

const authenticate: WsHubModuleOptions['authenticate'] = (_req, { token }) =>
  token ? { userId: token, role: token === 'root' ? 'admin' : 'user' } : null;

async function start(
  providers: unknown[],
  options: WsHubModuleOptions = {},
  platform: 'express' | 'fastify' = 'express',
) {
  @Module({
    imports: [WsHubModule.forRoot({ authenticate, ...options })],
    providers: providers as never,
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error', 'warn'] })
      : moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    app,
    hub: app.get(HubService),
    url: (user = 'ann') => `ws://127.0.0.1:${port}${options.path ?? '/ws'}?token=${user}`,
  };
}

type Started = Awaited<ReturnType<typeof start>>;

/** Sends a frame and collects every frame answering its id until a second round trip ends. */
async function answersTo(c: TestClient, frame: Frame & { id: string | number }): Promise<Frame[]> {
  const from = c.frames.length;
  c.send(frame);
  await c.next((f) => f.id === frame.id, 3000, from);
  // A ping round trip after it: any duplicate answer would have arrived by then.
  await c.request({ event: 'ping', id: `after-${frame.id}` });
  return c.frames.slice(from).filter((f) => f.id === frame.id);
}

for (const platform of ['express', 'fastify'] as const) {
  describe(`the app's own gateways on the hub (${platform})`, () => {
    let s: Started | undefined;
    const clients: TestClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.terminate();
      await s?.app.close();
      s = undefined;
    });
    const connect = async (user?: string) => {
      const c = await TestClient.welcomed(s!.url(user));
      clients.push(c);
      return c;
    };

    it('dispatches each frame exactly once: custom events, built-in events, unknown events', async () => {
      s = await start([ChatGateway, EchoGateway], {}, platform);
      const c = await connect();
      const chat = await answersTo(c, { event: 'chat', id: 1, data: { text: 'hi' } });
      expect(chat).toEqual([
        {
          event: 'chatted',
          id: 1,
          data: { text: 'hi', from: c.id, user: 'ann', rooms: [], stamped: true },
        },
      ]);
      expect(await answersTo(c, { event: 'message', id: 2, data: 1 })).toEqual([
        { event: 'ack', id: 2, data: 1 },
      ]);
      expect(await answersTo(c, { event: 'echo', id: 3, data: { x: 1 } })).toEqual([
        { event: 'echo', id: 3, data: { x: 1 } },
      ]);
      expect(await answersTo(c, { event: 'join', id: 4, data: { room: 'r' } })).toEqual([
        { event: 'joined', id: 4, data: { room: 'r' } },
      ]);
      const unknown = await answersTo(c, { event: 'nope', id: 5 });
      expect(unknown).toEqual([
        { event: 'error', id: 5, data: { code: 'UNKNOWN_EVENT', message: 'unknown event "nope"' } },
      ]);
      expect(c.frames.some((f) => f.event === 'exception')).toBe(false);
    });

    it('validates DTOs with ValidationPipe: BAD_REQUEST with the validation messages', async () => {
      s = await start([ChatGateway], {}, platform);
      const c = await connect();
      const [reply] = await answersTo(c, {
        event: 'chat',
        id: 'v',
        data: { text: 'far too long!' },
      });
      expect(reply).toEqual({
        event: 'error',
        id: 'v',
        data: {
          code: 'BAD_REQUEST',
          message: 'text must be shorter than or equal to 10 characters',
          details: ['text must be shorter than or equal to 10 characters'],
        },
      });
      const [missing] = await answersTo(c, { event: 'chat', id: 'm', data: {} });
      expect(missing.data.code).toBe('BAD_REQUEST');
      expect(missing.data.details).toContain('text must be a string');
    });

    it('answers a guard refusal with FORBIDDEN, and lets an allowed caller through', async () => {
      s = await start([ChatGateway], {}, platform);
      const user = await connect('ann');
      expect(await answersTo(user, { event: 'admin', id: 1 })).toEqual([
        { event: 'error', id: 1, data: { code: 'FORBIDDEN', message: 'Forbidden resource' } },
      ]);
      const admin = await connect('root');
      expect(await answersTo(admin, { event: 'admin', id: 1 })).toEqual([
        { event: 'admin', id: 1, data: 'granted' },
      ]);
    });

    it('turns WsException, HubError and filters into hub error frames with the id', async () => {
      s = await start([ChatGateway], {}, platform);
      const c = await connect();
      expect(await answersTo(c, { event: 'ws-error', id: 1 })).toEqual([
        { event: 'error', id: 1, data: { code: 'APP_ERROR', message: 'the room is full' } },
      ]);
      expect(await answersTo(c, { event: 'hub-error', id: 2 })).toEqual([
        { event: 'error', id: 2, data: { code: 'QUOTA_EXCEEDED', message: 'no more today' } },
      ]);
      expect(await answersTo(c, { event: 'teapot', id: 3 })).toEqual([
        { event: 'error', id: 3, data: { code: 'TEAPOT', message: 'short and stout' } },
      ]);
      const logs = captureLogs(/handler failed/);
      expect(await answersTo(c, { event: 'crash', id: 4 })).toEqual([
        { event: 'error', id: 4, data: { code: 'INTERNAL', message: 'internal error' } },
      ]);
      expect(logs.errors()).toEqual([expect.stringContaining('secret internals')]);
      expect(c.frames.some((f) => f.event === 'exception')).toBe(false);
    });

    it('streams Observable replies until the client disconnects', async () => {
      s = await start([ChatGateway], {}, platform);
      const c = await connect();
      const ended = ticks.ended;
      c.send({ event: 'ticks', id: 't' });
      await waitFor(() => c.events('tick').length >= 3, 3000);
      expect(c.events('tick').slice(0, 3)).toEqual(
        [0, 1, 2].map((n) => ({ event: 'tick', id: 't', data: { n, stamped: true } })),
      );
      c.terminate();
      await waitFor(() => ticks.ended === ended + 1, 3000);
      await waitFor(() => s!.hub.online === 0, 3000);
    });

    it('keeps @ConnectedSocket() working', async () => {
      s = await start([ChatGateway], {}, platform);
      const c = await connect();
      expect(await answersTo(c, { event: 'socket', id: 1 })).toEqual([
        { event: 'socket', id: 1, data: { readyState: 1, stamped: true } },
      ]);
    });

    it('follows the hub to a path given at run time (@HubGateway)', async () => {
      s = await start([EchoGateway], { path: '/live' }, platform);
      const c = await connect();
      expect(await answersTo(c, { event: 'echo', id: 1, data: 'x' })).toEqual([
        { event: 'echo', id: 1, data: 'x' },
      ]);
    });
  });
}

describe('duplicate handlers', () => {
  it('refuses two gateways taking one event at startup, naming both', async () => {
    @HubGateway()
    class OtherChat {
      @SubscribeMessage('chat')
      other() {
        return 1;
      }
    }
    await expect(start([ChatGateway, OtherChat])).rejects.toThrow(
      /event "chat" has two handlers, ChatGateway\.chat and OtherChat\.other/,
    );
  });

  it('refuses a gateway taking a built-in event', async () => {
    @WebSocketGateway({ path: '/ws' })
    class Pinger {
      @SubscribeMessage('ping')
      ping() {
        return 'mine';
      }
    }
    await expect(start([Pinger])).rejects.toThrow(
      /event "ping" has two handlers, WsGateway\.onPing and Pinger\.ping/,
    );
  });

  it('refuses HubService.handle() for an event a gateway takes', async () => {
    const s = await start([EchoGateway]);
    try {
      expect(() => s.hub.handle('echo', () => 1)).toThrow(/EchoGateway\.echo handles it/);
      expect(() => s.hub.handle('join', () => 1)).toThrow(/WsGateway\.onJoin handles it/);
    } finally {
      await s.app.close();
    }
  });

  it('leaves gateways on other paths to Nest', async () => {
    @WebSocketGateway({ path: '/other' })
    class Elsewhere {
      @SubscribeMessage('chat')
      chat() {
        return { event: 'elsewhere', data: 1 };
      }
    }
    const s = await start([ChatGateway, Elsewhere]);
    try {
      const port = (s.app.getHttpServer().address() as { port: number }).port;
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/other`);
      c.send({ event: 'chat', data: 1 });
      expect(await c.next((f) => f.event === 'elsewhere')).toEqual({ event: 'elsewhere', data: 1 });
      expect(c.frames.some((f) => f.event === 'welcome')).toBe(false);
      c.terminate();
    } finally {
      await s.app.close();
    }
  });
});
