/** The longest `Retry-After` admission control answers (what `ws-hub/client` honours at most). */
const MAX_RETRY_AFTER_SECONDS = 600;

/**
 * Admission control of handshakes (`maxHandshakesPerSecond`): a token bucket of one second's
 * worth, refilled at the rate. A refused handshake is given a slot in a virtual queue that
 * empties at the same rate, and told to come back then (`Retry-After`, whole seconds; the
 * client adds up to a second of its own randomness): 9 000 handshakes refused at once at
 * 1 000/s are told 1, 2, ... 9 s, and come back at about the rate, not all together again.
 */
export class HandshakeAdmission {
  private tokens: number;
  private lastMs: number;
  /** When the virtual queue of refused handshakes is empty. */
  private queueEndMs = -Infinity;

  constructor(
    private readonly perSecond: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.lastMs = nowMs();
  }

  /** Takes a handshake: undefined when admitted, else the seconds to send as `Retry-After`. */
  admit(): number | undefined {
    const now = this.nowMs();
    this.tokens = Math.min(
      this.perSecond,
      this.tokens + ((now - this.lastMs) * this.perSecond) / 1000,
    );
    this.lastMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    const slot = Math.max(this.queueEndMs, now);
    this.queueEndMs = slot + 1000 / this.perSecond;
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.floor((slot - now) / 1000) + 1);
  }
}
