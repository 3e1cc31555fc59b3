import { of, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/ws-hub/core/connection.js';
import { HubCounters } from '../../../src/ws-hub/core/hub-counters.js';
import { failureText, Replies } from '../../../src/ws-hub/core/replies.js';
import { DisconnectReason, ErrorCode } from '../../../src/ws-hub/protocol/constants.js';
import { HubError } from '../../../src/ws-hub/protocol/hub.error.js';
import { fakeConnection } from '../../helpers/core-parts.js';
import { captureLogs } from '../../helpers/logs.js';

/** Replies over a sink that records what would be written and closed. */
function setup(maxHandlerFailures = 10) {
  const written: string[] = [];
  const closed: [number, string, string][] = [];
  const counters = new HubCounters();
  const replies = new Replies({ maxHandlerFailures }, counters, {
    deliverText: (_client, text) => {
      written.push(text);
      return true;
    },
    closeClient: (_client, code, reason, why) => void closed.push([code, reason, why]),
  });
  const frames = () => written.map((t) => JSON.parse(t));
  return { replies, counters, written, frames, closed, client: fakeConnection() };
}

describe('Replies.send', () => {
  it("answers with the frame's event and id, or with the event a handler returned", () => {
    const { replies, written, client } = setup();
    replies.send(client, { n: 1 }, 'echo', 7);
    replies.send(client, { event: 'other', data: [1, 2] }, 'echo', 'a');
    replies.send(client, 'text', 'echo', undefined);
    expect(written).toEqual([
      '{"event":"echo","id":7,"data":{"n":1}}',
      '{"event":"other","id":"a","data":[1,2]}',
      '{"event":"echo","data":"text"}',
    ]);
  });

  it('sends nothing for undefined or null, nor to a client that is gone', () => {
    const { replies, written, client } = setup();
    replies.send(client, undefined, 'e', 1);
    replies.send(client, null, 'e', 1);
    client.removed = true;
    replies.send(client, { n: 1 }, 'e', 1);
    expect(written).toEqual([]);
  });

  it('a reply that cannot be serialised is answered INTERNAL, and counted', () => {
    const logs = captureLogs(/not serialisable/);
    const { replies, frames, counters, client } = setup();
    replies.send(client, { big: 1n }, 'e', 3);
    expect(logs.messages('debug')).toEqual([
      `reply to client ${client.id} not serialisable: Do not know how to serialize a BigInt`,
    ]);
    expect(frames()).toEqual([
      {
        event: 'error',
        id: 3,
        data: { code: ErrorCode.INTERNAL, message: 'reply could not be serialised' },
      },
    ]);
    expect(counters.errors.get(ErrorCode.INTERNAL)).toBe(1);
  });

  it('each emission of an Observable is a reply, until it completes', () => {
    const { replies, frames, client } = setup();
    const subject = new Subject<number>();
    replies.send(client, subject, 'tick', 5);
    expect(client.subscriptions!.size).toBe(1);
    subject.next(1);
    subject.next(2);
    subject.complete();
    expect(client.subscriptions!.size).toBe(0);
    expect(frames()).toEqual([
      { event: 'tick', id: 5, data: 1 },
      { event: 'tick', id: 5, data: 2 },
    ]);
    replies.send(client, of('a', 'b'), 'sync', undefined); // completes at once: not kept
    expect(client.subscriptions!.size).toBe(0);
    expect(frames().slice(2)).toEqual([
      { event: 'sync', data: 'a' },
      { event: 'sync', data: 'b' },
    ]);
  });

  it('an Observable that errors is answered like a thrown error', () => {
    const { replies, frames, client } = setup();
    replies.send(
      client,
      throwError(() => new HubError('NOPE', 'not now')),
      'e',
      9,
    );
    expect(frames()).toEqual([
      { event: 'error', id: 9, data: { code: 'NOPE', message: 'not now' } },
    ]);
    expect(client.subscriptions!.size).toBe(0);
  });
});

describe('Replies.failed', () => {
  it("sends an app's own error as it is, and closes when it asks to", () => {
    const { replies, frames, closed, client } = setup();
    replies.failed(client, new HubError('QUOTA', 'over quota'), 1);
    replies.failed(client, new HubError('BANNED', 'bye', 4001), 2);
    expect(frames()).toEqual([
      { event: 'error', id: 1, data: { code: 'QUOTA', message: 'over quota' } },
      { event: 'error', id: 2, data: { code: 'BANNED', message: 'bye' } },
    ]);
    expect(closed).toEqual([[4001, 'BANNED', 'BANNED']]);
  });

  it('answers anything else INTERNAL without its text, logs it, and closes past maxHandlerFailures', () => {
    const logs = captureLogs(/handler failed for client/);
    const { replies, frames, closed, client } = setup(2);
    for (let i = 0; i < 3; i++) replies.failed(client, new Error('secret detail'), i);
    expect(frames()).toEqual([
      { event: 'error', id: 0, data: { code: ErrorCode.INTERNAL, message: 'internal error' } },
      { event: 'error', id: 1, data: { code: ErrorCode.INTERNAL, message: 'internal error' } },
    ]);
    expect(closed).toEqual([[1011, 'too many failed frames', DisconnectReason.HANDLER_FAILURES]]);
    expect(logs.errors()).toEqual(
      Array(3).fill(`handler failed for client ${client.id}: secret detail`),
    );
  });

  it('logs, but neither answers nor counts, for a client that is gone', () => {
    const logs = captureLogs(/handler failed for client/);
    const { replies, written, client } = setup();
    (client as Connection).removed = true;
    replies.failed(client, new Error('late'), 1);
    expect(written).toEqual([]);
    expect(client.handlerFailures).toBeUndefined();
    expect(logs.errors()).toHaveLength(1);
  });
});

describe('failureText', () => {
  it("names only the type of what is not an Error (it may be the client's data)", () => {
    expect(failureText({ password: 'x' })).toEqual({
      text: 'a thrown object (not an Error; its value is not logged)',
      stack: undefined,
    });
    expect(failureText(null).text).toContain('a thrown null');
    expect(failureText([1]).text).toContain('a thrown array');
    expect(failureText('boom').text).toContain('a thrown string');
  });

  it("cuts an Error's message, and its stack's first line the same way", () => {
    const err = new Error('m'.repeat(300));
    const { text, stack } = failureText(err);
    expect(text).toBe('m'.repeat(200) + '...');
    expect(stack!.split('\n')[0]).toBe(`Error: ${text}`);
    expect(
      stack!
        .split('\n')
        .slice(1)
        .every((l) => /^\s+at /.test(l)),
    ).toBe(true);
  });
});
