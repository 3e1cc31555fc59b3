import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';

/** Where a socket on the hub's endpoint keeps its gate. */
export const kConnectionGate = Symbol('ws-hub.connection-gate');

/**
 * When the app's own gateways on the hub's endpoint may see a connection: once the hub has
 * accepted it and sent its welcome (after the `recover` exchange, with the resumed client id),
 * never for a socket the handshake refused (`authFailure: 'close'`) or that went away first.
 * Their `handleConnection` calls wait here until then; their `handleDisconnect` runs only for
 * connections they saw.
 */
export class ConnectionGate {
  private state: 'pending' | 'open' | 'dropped' = 'pending';
  private waiting: (() => void)[] = [];

  /** Whether the app's gateways were told of this connection. */
  get opened(): boolean {
    return this.state === 'open';
  }

  /** Runs `fn` once the connection is accepted (now, if it is); never if it is dropped first. */
  whenOpen(fn: () => void): void {
    if (this.state === 'open') run(fn);
    else if (this.state === 'pending') this.waiting.push(fn);
  }

  /** The hub accepted the connection and welcomed it. */
  open(): void {
    if (this.state !== 'pending') return;
    this.state = 'open';
    for (const fn of this.waiting.splice(0)) run(fn);
  }

  /** The connection was refused or closed before it was accepted. */
  drop(): void {
    if (this.state !== 'pending') return;
    this.state = 'dropped';
    this.waiting.length = 0;
  }
}

/**
 * An app's `handleConnection` may throw or reject: Nest 12.1 would let that become an
 * uncaughtException. It is logged instead.
 */
function run(fn: () => void): void {
  try {
    const result = fn() as unknown;
    if (result instanceof Promise) result.catch(logFailure);
  } catch (err) {
    logFailure(err);
  }
}

function logFailure(err: unknown): void {
  hubLogger.error(`an app gateway's handleConnection failed: ${errorText(err)}`);
}
