/** Thrown at startup when two handlers of the hub's gateways take the same event. */
export class DuplicateHandlerError extends Error {
  constructor(event: string, first: string, second: string) {
    super(
      `WsHubModule: event "${event}" has two handlers, ${first} and ${second}; ` +
        'each event of the hub may have one handler (rename one of them)',
    );
    this.name = 'DuplicateHandlerError';
  }
}
