import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { extractToken, selectProtocol } from '../../../src/ws-hub/gateway/handshake.js';

/** Only what the handshake reads of an upgrade request. */
function request(headers: Record<string, string> = {}, url = '/ws'): IncomingMessage {
  return { headers, url } as unknown as IncomingMessage;
}

describe('extractToken', () => {
  it('reads Authorization: Bearer, in any case and with surrounding blanks', () => {
    for (const value of ['Bearer abc.def-1', 'bearer abc.def-1', 'BEARER   abc.def-1  ']) {
      expect(extractToken(request({ authorization: value }))).toEqual({
        token: 'abc.def-1',
        tokenSource: 'authorization',
      });
    }
  });

  it('reads the bearer.<token> subprotocol among others, trimmed', () => {
    expect(
      extractToken(request({ 'sec-websocket-protocol': 'ws-hub.v1,  bearer.tok-1 , chat' })),
    ).toEqual({ token: 'tok-1', tokenSource: 'subprotocol' });
  });

  it('takes the first bearer subprotocol and skips an empty one', () => {
    expect(
      extractToken(request({ 'sec-websocket-protocol': 'bearer., bearer.first, bearer.second' })),
    ).toEqual({ token: 'first', tokenSource: 'subprotocol' });
  });

  it('reads ?token= and decodes it', () => {
    expect(extractToken(request({}, '/ws?a=1&token=t%20o%2Bk&b=2'))).toEqual({
      token: 't o+k',
      tokenSource: 'query',
    });
  });

  it('prefers Authorization over the subprotocol over the query', () => {
    const all = {
      authorization: 'Bearer from-header',
      'sec-websocket-protocol': 'ws-hub.v1, bearer.from-protocol',
    };
    expect(extractToken(request(all, '/ws?token=from-query'))).toEqual({
      token: 'from-header',
      tokenSource: 'authorization',
    });
    const noHeader = { 'sec-websocket-protocol': all['sec-websocket-protocol'] };
    expect(extractToken(request(noHeader, '/ws?token=from-query'))).toEqual({
      token: 'from-protocol',
      tokenSource: 'subprotocol',
    });
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwdw=='],
    ['no token', 'Bearer'],
    ['an empty token', 'Bearer   '],
    ['two words', 'Bearer abc def'],
    ['no space after the scheme', 'Bearerabc'],
  ])('falls through a malformed Authorization header (%s) to the next carrier', (_, value) => {
    expect(extractToken(request({ authorization: value }, '/ws?token=q'))).toEqual({
      token: 'q',
      tokenSource: 'query',
    });
    expect(
      extractToken(request({ authorization: value, 'sec-websocket-protocol': 'bearer.p' })),
    ).toEqual({ token: 'p', tokenSource: 'subprotocol' });
  });

  it.each([
    ['nothing at all', request()],
    ['a request without url', { headers: {} } as unknown as IncomingMessage],
    ['subprotocols without a bearer', request({ 'sec-websocket-protocol': 'ws-hub.v1, chat' })],
    ['a bare bearer. subprotocol', request({ 'sec-websocket-protocol': 'bearer.' })],
    ['an empty ?token=', request({}, '/ws?token=')],
    ['another query parameter', request({}, '/ws?tokens=x&access_token=y')],
    ['a malformed Authorization only', request({ authorization: 'Token abc' })],
  ])('finds no token in %s', (_, req) => {
    expect(extractToken(req)).toEqual({ token: undefined, tokenSource: undefined });
  });
});

describe('selectProtocol', () => {
  it('echoes ws-hub.v1 whenever it is offered, wherever it stands', () => {
    expect(selectProtocol(new Set(['bearer.secret', 'ws-hub.v1']))).toBe('ws-hub.v1');
    expect(selectProtocol(new Set(['chat', 'ws-hub.v1']))).toBe('ws-hub.v1');
  });

  it('prefers any other offered protocol to echoing the token', () => {
    expect(selectProtocol(new Set(['bearer.secret', 'chat', 'graphql-ws']))).toBe('chat');
  });

  it('echoes the first protocol offered when none carries a token', () => {
    expect(selectProtocol(new Set(['graphql-ws', 'chat']))).toBe('graphql-ws');
  });

  it('echoes the bearer protocol only when it is the sole choice', () => {
    expect(selectProtocol(new Set(['bearer.a', 'bearer.b']))).toBe('bearer.a');
  });

  it('answers false when nothing is offered', () => {
    expect(selectProtocol(new Set())).toBe(false);
  });
});
