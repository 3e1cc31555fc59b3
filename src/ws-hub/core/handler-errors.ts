import { HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { errorText } from '../util/error-text.js';
import { ErrorCode } from '../protocol/constants.js';
import { HubError, HubHandlerError } from '../protocol/hub.error.js';

/** What an error frame answering a failed handler says. */
interface HandlerErrorReply {
  code: string;
  message: string;
  details?: unknown;
  /** Also close the connection with this code (`HubError.closeCode`). */
  closeCode?: number;
}

/** The message Nest's guards throw with, as a `WsException`, when one refuses. */
const FORBIDDEN_MESSAGE = 'Forbidden resource';
const STATUS_CODES: Record<number, string> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  429: ErrorCode.RATE_LIMITED,
};
const APP_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A plain object literal (not an `Error`, not a class instance): what an app means to send. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The error frame for what a handler threw, or undefined for an unexpected error (logged,
 * answered `INTERNAL` without its text, which may hold internals). Only what the app meant to
 * send reaches the client: codes and messages are copied from these alone.
 *
 * - `HubError`: its code and message (and close code).
 * - `WsException` of a string: the message (`FORBIDDEN` for a guard's refusal, else
 *   `APP_ERROR`); of a plain object: `message` and, when UPPER_SNAKE_CASE, `code`, and
 *   `details`. A `WsException` wrapping anything else (an `Error` with a `code` such as
 *   `ECONNREFUSED`, a class instance) is unexpected.
 * - `HttpException` 4xx (e.g. `ValidationPipe`'s `BadRequestException`): the code by status,
 *   the validation messages as `details`; 5xx, or one wrapping an `Error`, is unexpected.
 */
export function errorReplyOf(err: unknown): HandlerErrorReply | undefined {
  const cause = err instanceof HubHandlerError ? err.cause : err;
  if (cause instanceof HubError) {
    return {
      code: typeof cause.code === 'string' ? cause.code : ErrorCode.APP_ERROR,
      message: typeof cause.message === 'string' ? cause.message : '',
      closeCode: cause.closeCode,
    };
  }
  if (cause instanceof WsException) {
    const error = cause.getError();
    if (typeof error === 'string') {
      return {
        code: error === FORBIDDEN_MESSAGE ? ErrorCode.FORBIDDEN : ErrorCode.APP_ERROR,
        message: error,
      };
    }
    if (!isPlainObject(error)) return undefined;
    const { code, message, details } = error;
    return {
      code: typeof code === 'string' && APP_CODE.test(code) ? code : ErrorCode.APP_ERROR,
      message: typeof message === 'string' ? message : 'application error',
      ...(details !== undefined ? { details } : {}),
    };
  }
  if (cause instanceof HttpException) {
    const status = cause.getStatus();
    const response = cause.getResponse();
    if (status >= 500 || response instanceof Error) return undefined;
    const listed = isPlainObject(response) ? response.message : undefined;
    const code = STATUS_CODES[status] ?? ErrorCode.BAD_REQUEST;
    if (Array.isArray(listed)) {
      return { code, message: listed.map(errorText).join('; '), details: listed };
    }
    if (typeof response === 'string') return { code, message: response };
    return { code, message: typeof listed === 'string' ? listed : errorText(cause.message) };
  }
  return undefined;
}
