import { BadRequestException, HttpException, InternalServerErrorException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { describe, expect, it } from 'vitest';
import { errorReplyOf } from '../../../src/ws-hub/core/handler-errors.js';
import { HubError, HubHandlerError } from '../../../src/ws-hub/protocol/hub.error.js';

describe('errorReplyOf: only what the app meant to send reaches the client', () => {
  it('copies a HubError, also through the exception filter wrapper', () => {
    const err = new HubError('ROOM_FULL', 'the room is full', 4000);
    expect(errorReplyOf(err)).toEqual({
      code: 'ROOM_FULL',
      message: 'the room is full',
      closeCode: 4000,
    });
    expect(errorReplyOf(new HubHandlerError(err))).toMatchObject({ code: 'ROOM_FULL' });
  });

  it('copies a WsException of a string or a plain object', () => {
    expect(errorReplyOf(new WsException('no spam'))).toEqual({
      code: 'APP_ERROR',
      message: 'no spam',
    });
    expect(errorReplyOf(new WsException('Forbidden resource'))).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(
      errorReplyOf(new WsException({ code: 'ROOM_FULL', message: 'full', details: { max: 3 } })),
    ).toEqual({ code: 'ROOM_FULL', message: 'full', details: { max: 3 } });
    expect(errorReplyOf(new WsException({ code: 'lower case', message: 42 }))).toEqual({
      code: 'APP_ERROR',
      message: 'application error',
    });
  });

  it('treats a WsException wrapping an Error (or a class instance) as unexpected', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(errorReplyOf(new WsException(err))).toBeUndefined();
    class Failure {
      code = 'DB_DOWN';
      message = 'db at 10.0.0.1 is down';
    }
    expect(errorReplyOf(new WsException(new Failure()))).toBeUndefined();
  });

  it('answers 4xx HttpExceptions by status, with the validation messages as details', () => {
    const validation = new BadRequestException(['text must be a string', 'room is too long']);
    expect(errorReplyOf(validation)).toEqual({
      code: 'BAD_REQUEST',
      message: 'text must be a string; room is too long',
      details: ['text must be a string', 'room is too long'],
    });
    expect(errorReplyOf(new HttpException('gone', 404))).toEqual({
      code: 'NOT_FOUND',
      message: 'gone',
    });
    expect(errorReplyOf(new HttpException({ message: 'slow down' }, 429))).toEqual({
      code: 'RATE_LIMITED',
      message: 'slow down',
    });
  });

  it('treats 5xx, and an HttpException wrapping an Error, as unexpected', () => {
    expect(errorReplyOf(new InternalServerErrorException('db password wrong'))).toBeUndefined();
    expect(errorReplyOf(new HttpException(new Error('secret'), 400))).toBeUndefined();
  });

  it('treats anything else as unexpected', () => {
    for (const thrown of [new Error('x'), 'text', 42, null, undefined, Object.create(null)]) {
      expect(errorReplyOf(thrown)).toBeUndefined();
    }
  });
});
