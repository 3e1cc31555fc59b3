import { BadRequestException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { HubFrameDispatcher } from '../../../src/ws-hub/core/frame-dispatcher.js';
import type { DispatchSink } from '../../../src/ws-hub/core/replies.js';
import { Connection } from '../../../src/ws-hub/core/connection.js';
import { HubCounters } from '../../../src/ws-hub/core/hub-counters.js';
import { resolveHubOptions } from '../../../src/ws-hub/options/resolve-options.js';
import { HubError } from '../../../src/ws-hub/protocol/hub.error.js';
import type { WsHubModuleOptions } from '../../../src/ws-hub/index.js';
import { captureLogs } from '../../helpers/logs.js';

/** A dispatcher wired to a sink that records what it would send and close. */
function setup(options: WsHubModuleOptions = {}) {
  const sent: unknown[] = [];
  const closed: { code: number; reason: string; why: string }[] = [];
  const sink: DispatchSink = {
    deliverText: (_client, text) => {
      sent.push(JSON.parse(text));
      return true;
    },
    closeClient: (client, code, reason, why) => {
      client.removed = true;
      closed.push({ code, reason, why });
    },
  };
  const resolved = resolveHubOptions({ rateLimit: false, ...options });
  const counters = new HubCounters();
  const dispatcher = new HubFrameDispatcher(resolved, counters, sink);
  const client = new Connection('i.c1', {} as never, 0, '127.0.0.1', { userId: 'u1', role: 'x' });
  if (resolved.rateLimit) client.tokens = resolved.rateLimit.burst;
  client.lastRefillMs = performance.now();
  const frame = (value: unknown, handlers = new Map(), binary = false) =>
    dispatcher.handleFrame(
      client,
      Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      binary,
      handlers,
    );
  return { dispatcher, counters, client, sent, closed, frame };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('HubFrameDispatcher', () => {
  it('calls the handler of the event with (data, event, id) and replies with the id', () => {
    const { sent, frame } = setup();
    const calls: unknown[] = [];
    const handlers = new Map([
      [
        'message',
        (data: unknown, event: string, id: unknown) => (
          calls.push([data, event, id]),
          { event: 'ack', data }
        ),
      ],
    ]);
    frame({ event: 'message', id: 7, data: { x: 1 } }, handlers);
    expect(calls).toEqual([[{ x: 1 }, 'message', 7]]);
    expect(sent).toEqual([{ event: 'ack', id: 7, data: { x: 1 } }]);
  });

  it('prefers a direct handler, which gets the client first', () => {
    const { dispatcher, client, sent, frame } = setup();
    dispatcher.routes.declareBuiltIns([
      { event: 'ping', owner: 'T.onPing', run: (c: Connection) => ({ event: 'pong', data: c.id }) },
    ]);
    dispatcher.routes.useBuiltInsDirectly(true);
    frame({ event: 'ping', id: 'p' }, new Map([['ping', () => 'slow path']]));
    expect(sent).toEqual([{ event: 'pong', id: 'p', data: client.id }]);
  });

  it('replies with the event name when the value is not an {event, data} object; nothing for undefined', () => {
    const { sent, frame } = setup();
    frame({ event: 'sum', id: 1 }, new Map([['sum', () => 3]]));
    frame({ event: 'quiet', id: 2 }, new Map([['quiet', () => undefined]]));
    expect(sent).toEqual([{ event: 'sum', id: 1, data: 3 }]);
  });

  it('answers bad input with error frames and closes with 1008 past maxInvalidFrames', () => {
    const { sent, closed, frame } = setup({ maxInvalidFrames: 3 });
    frame('{nope');
    frame({ event: '' });
    frame({ event: 'who', id: 'w' });
    expect(sent).toEqual([
      { event: 'error', data: { code: 'BAD_JSON', message: 'frame is not valid JSON' } },
      { event: 'error', data: expect.objectContaining({ code: 'BAD_ENVELOPE' }) },
      { event: 'error', id: 'w', data: { code: 'UNKNOWN_EVENT', message: 'unknown event "who"' } },
    ]);
    frame('x', new Map(), true);
    expect(closed).toEqual([
      { code: 1008, reason: 'too many invalid frames', why: 'invalid-frames' },
    ]);
    expect(sent).toHaveLength(3);
  });

  it('counts frames by the event of the handler that took them, and error frames by code', () => {
    const { counters, frame } = setup();
    const handlers = new Map([['message', () => 'ok']]);
    frame({ event: 'message' }, handlers);
    frame({ event: 'message' }, handlers);
    frame({ event: 'who-knows' }, handlers);
    frame('{bad');
    frame('x', new Map(), true);
    expect(Object.fromEntries(counters.frames)).toEqual({ message: 2, unhandled: 1, invalid: 2 });
    expect(Object.fromEntries(counters.errors)).toEqual({
      UNKNOWN_EVENT: 1,
      BAD_JSON: 1,
      BINARY_UNSUPPORTED: 1,
    });
  });

  it('answers binary frames BINARY_UNSUPPORTED', () => {
    const { sent, frame } = setup();
    frame('abc', new Map(), true);
    expect(sent).toEqual([
      {
        event: 'error',
        data: { code: 'BINARY_UNSUPPORTED', message: 'binary frames are not supported' },
      },
    ]);
  });

  it('rate-limits: RATE_LIMITED over the burst, 1008 after maxViolations', () => {
    const { sent, closed, frame } = setup({
      rateLimit: { messagesPerSecond: 1, burst: 2, maxViolations: 2 },
    });
    const handlers = new Map([['message', () => 'ok']]);
    for (let i = 0; i < 4; i++) frame({ event: 'message', id: i }, handlers);
    expect(sent.slice(0, 2)).toEqual([
      { event: 'message', id: 0, data: 'ok' },
      { event: 'message', id: 1, data: 'ok' },
    ]);
    expect(sent.slice(2)).toEqual([
      {
        event: 'error',
        data: { code: 'RATE_LIMITED', message: 'too many messages; frame not processed' },
      },
      {
        event: 'error',
        data: { code: 'RATE_LIMITED', message: 'too many messages; frame not processed' },
      },
    ]);
    frame({ event: 'message', id: 5 }, handlers);
    expect(closed).toEqual([{ code: 1008, reason: 'rate limit exceeded', why: 'rate-limited' }]);
  });

  it('maps what a handler throws to error frames carrying the id', async () => {
    const { sent, closed, frame } = setup();
    const handlers = new Map<string, () => unknown>([
      ['hub', () => Promise.reject(new HubError('QUOTA', 'no more'))],
      [
        'ws',
        () => {
          throw new WsException('full');
        },
      ],
      [
        'guard',
        () => {
          throw new WsException('Forbidden resource');
        },
      ],
      [
        'coded',
        () => {
          throw new WsException({ code: 'TEAPOT', message: 'stout' });
        },
      ],
      [
        'dto',
        () => Promise.reject(new BadRequestException(['a must be a string', 'b is missing'])),
      ],
      [
        'bye',
        () => {
          throw new HubError('BANNED', 'go away', 4001);
        },
      ],
    ]);
    for (const event of handlers.keys()) frame({ event, id: event }, handlers);
    await flush();
    expect(sent).toEqual([
      { event: 'error', id: 'ws', data: { code: 'APP_ERROR', message: 'full' } },
      { event: 'error', id: 'guard', data: { code: 'FORBIDDEN', message: 'Forbidden resource' } },
      { event: 'error', id: 'coded', data: { code: 'TEAPOT', message: 'stout' } },
      { event: 'error', id: 'bye', data: { code: 'BANNED', message: 'go away' } },
      { event: 'error', id: 'hub', data: { code: 'QUOTA', message: 'no more' } },
      {
        event: 'error',
        id: 'dto',
        data: {
          code: 'BAD_REQUEST',
          message: 'a must be a string; b is missing',
          details: ['a must be a string', 'b is missing'],
        },
      },
    ]);
    expect(closed).toEqual([{ code: 4001, reason: 'BANNED', why: 'BANNED' }]);
  });

  it('answers an unexpected error INTERNAL without its text, and logs it', async () => {
    const logs = captureLogs(/handler failed/);
    const { sent, frame } = setup();
    frame(
      { event: 'x', id: 1 },
      new Map([['x', () => Promise.reject(new Error('db password=hunter2'))]]),
    );
    await flush();
    expect(sent).toEqual([
      { event: 'error', id: 1, data: { code: 'INTERNAL', message: 'internal error' } },
    ]);
    expect(logs.errors()).toEqual([expect.stringContaining('handler failed for client i.c1')]);
  });

  it('answers a reply that cannot be serialised, without logging an error', () => {
    const logs = captureLogs(/not serialisable/);
    const { sent, frame } = setup();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    frame({ event: 'c', id: 1 }, new Map([['c', () => circular]]));
    expect(sent).toEqual([
      {
        event: 'error',
        id: 1,
        data: { code: 'INTERNAL', message: 'reply could not be serialised' },
      },
    ]);
    expect(logs.errors()).toEqual([]);
    expect(logs.messages('debug')).toEqual([expect.stringContaining('not serialisable')]);
  });

  it('streams Observable replies and ends the subscription with the client', () => {
    const { client, sent, frame } = setup();
    const source = new Subject<number>();
    frame({ event: 'watch', id: 'w' }, new Map([['watch', () => source]]));
    source.next(1);
    source.next(2);
    expect(sent).toEqual([
      { event: 'watch', id: 'w', data: 1 },
      { event: 'watch', id: 'w', data: 2 },
    ]);
    expect(client.subscriptions?.size).toBe(1);
    source.complete();
    expect(client.subscriptions?.size).toBe(0);
  });

  it('sends nothing to a client removed while its handler ran', async () => {
    const { client, sent, frame } = setup();
    frame({ event: 'slow', id: 1 }, new Map([['slow', () => Promise.resolve('late')]]));
    client.removed = true;
    await flush();
    expect(sent).toEqual([]);
  });

  it('runs custom handlers with the client context, and refuses events a gateway takes', async () => {
    const { dispatcher, sent, frame } = setup();
    const off = dispatcher.routes.handle('whoami', (ctx, data) => ({
      event: 'you',
      data: { ...ctx, data },
    }));
    frame({ event: 'whoami', id: 3, data: 'd' });
    await flush();
    expect(sent).toEqual([
      {
        event: 'you',
        id: 3,
        data: {
          clientId: 'i.c1',
          userId: 'u1',
          principal: { userId: 'u1', role: 'x' },
          event: 'whoami',
          id: 3,
          data: 'd',
        },
      },
    ]);
    expect(() => dispatcher.routes.handle('whoami', () => 1)).toThrow(/already has a handler/);
    expect(() => dispatcher.routes.handle('join', () => 1)).toThrow(
      /WsGateway \(built in\) handles it/,
    );
    dispatcher.routes.addGateways([{ event: 'chat', owner: 'ChatGateway.chat' }]);
    expect(() => dispatcher.routes.handle('chat', () => 1)).toThrow(/ChatGateway\.chat handles it/);
    expect(() => dispatcher.routes.addGateways([{ event: 'whoami', owner: 'G.w' }])).toThrow(
      /two handlers, G\.w and one given to HubService\.handle/,
    );
    off();
    frame({ event: 'whoami', id: 4 });
    expect(sent.at(-1)).toMatchObject({ id: 4, data: { code: 'UNKNOWN_EVENT' } });
  });
});
