import { CloseCode, ErrorCode } from './hub.constants.js';

/**
 * An error a handler can throw to answer the client with a specific error code instead of
 * `INTERNAL`. The connection stays open unless `closeCode` is set.
 */
export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly closeCode?: (typeof CloseCode)[keyof typeof CloseCode],
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** Marks an exception that came out of a gateway handler, so the dispatcher answers it. */
export class HubHandlerError extends Error {
  constructor(override readonly cause: unknown) {
    super('ws-hub handler failed');
    this.name = 'HubHandlerError';
  }
}
