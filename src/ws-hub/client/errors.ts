/** Base class of the errors `ws-hub/client` rejects with. */
export class HubClientError extends Error {
  constructor(name: string, message: string) {
    super(message);
    // Set explicitly: minifiers rename classes.
    this.name = name;
  }
}

/** The server answered a request with an `error` frame (or the payload was too large to send). */
export class HubRequestError extends HubClientError {
  constructor(
    /** The server's error code (`FORBIDDEN`, `UNKNOWN_EVENT`, ...) or `PAYLOAD_TOO_LARGE`. */
    readonly code: string,
    message: string,
    /** The error frame's `details`, when the server sent some (e.g. `ValidationPipe`'s messages). */
    readonly details?: unknown,
  ) {
    super('HubRequestError', message);
  }
}

/** No reply within the request's timeout, counted from when the request was written. */
export class HubTimeoutError extends HubClientError {
  constructor(message: string) {
    super('HubTimeoutError', message);
  }
}

/** The connection dropped before the reply, or the client is closed (or not queueing). */
export class HubDisconnectedError extends HubClientError {
  constructor(message: string) {
    super('HubDisconnectedError', message);
  }
}

/** The offline queue was full; the message was not sent. */
export class HubQueueFullError extends HubClientError {
  constructor(message: string) {
    super('HubQueueFullError', message);
  }
}

/**
 * A queued message, request or join found no connection within `queue.maxAgeMs`; it was never
 * sent. (A join's room stays remembered: it is joined on the next connection.)
 */
export class HubQueueExpiredError extends HubClientError {
  constructor(message: string) {
    super('HubQueueExpiredError', message);
  }
}
