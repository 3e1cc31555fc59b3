import { HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { errorText } from '../options/validators.js';
import { ErrorCode } from '../protocol/constants.js';
import { HubError, HubHandlerError } from '../protocol/hub.error.js';

/** What an error frame answering a failed handler says. */
export interface HandlerErrorReply {
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

/**
 * The error frame for what a handler threw, or undefined for an unexpected error (logged,
 * answered `INTERNAL` without its text, which may hold internals).
 *
 * - `HubError`: its code and message (and close code).
 * - `WsException`: a string is the message (`FORBIDDEN` for a guard's refusal, else
 *   `APP_ERROR`); an object gives `message` and, when it is UPPER_SNAKE_CASE, `code`.
 * - `HttpException` (e.g. `ValidationPipe`'s `BadRequestException`): the code by status,
 *   the validation messages as `details`; 5xx counts as unexpected.
 */
export function errorReplyOf(err: unknown): HandlerErrorReply | undefined {
  const cause = err instanceof HubHandlerError ? err.cause : err;
  if (cause instanceof HubError) {
    return { code: cause.code, message: cause.message, closeCode: cause.closeCode };
  }
  if (cause instanceof WsException) {
    const error = cause.getError();
    if (typeof error === 'string') {
      return {
        code: error === FORBIDDEN_MESSAGE ? ErrorCode.FORBIDDEN : ErrorCode.APP_ERROR,
        message: error,
      };
    }
    const { code, message, details } = (error ?? {}) as Record<string, unknown>;
    return {
      code: typeof code === 'string' && APP_CODE.test(code) ? code : ErrorCode.APP_ERROR,
      message: typeof message === 'string' ? message : errorText(cause.message),
      ...(details !== undefined ? { details } : {}),
    };
  }
  if (cause instanceof HttpException) {
    const status = cause.getStatus();
    if (status >= 500) return undefined;
    const response = cause.getResponse();
    const listed = (response as { message?: unknown })?.message;
    const reply: HandlerErrorReply = {
      code: STATUS_CODES[status] ?? ErrorCode.BAD_REQUEST,
      message: Array.isArray(listed) ? listed.map(errorText).join('; ') : cause.message,
    };
    if (Array.isArray(listed)) reply.details = listed;
    return reply;
  }
  return undefined;
}
