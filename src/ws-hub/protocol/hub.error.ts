import { ErrorCode } from './constants.js';

/**
 * An error a handler can throw to answer the client with a specific error code instead of
 * `INTERNAL`. The connection stays open unless `closeCode` is set.
 */
export class HubError extends Error {
  constructor(
    /** One of `ErrorCode`, or an app's own code (UPPER_SNAKE_CASE by convention). */
    readonly code: ErrorCode | (string & {}),
    message: string,
    /** Also close the connection: 1008, 1011, 1013 or an app code within 3000-4999. */
    readonly closeCode?: 1008 | 1011 | 1013 | number,
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
