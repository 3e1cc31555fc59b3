import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { EVAL_REFUSED, MULTI_PUBLISH } from './scripts.js';

/** The side of the publisher connection plain publishing uses. */
export interface PublishConnection {
  readonly status: string;
  publish(channel: string, payload: string): Promise<unknown>;
  /** Redis Cluster: sharded publish, routed to the channel's shard. */
  spublish?(channel: string, payload: string): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

/**
 * Publishing without history (recovery off, and `disconnect` messages): one PUBLISH, or one
 * `MULTI_PUBLISH` script for the channels of several rooms (the payload crosses the wire
 * once); where Redis refuses `EVAL` for good, one PUBLISH per room from then on (logged once).
 * On a Redis Cluster (`sharded`) one SPUBLISH per channel, each routed to its channel's shard.
 */
export class PlainPublisher {
  published = 0;
  failures = 0;
  private useScriptForRooms = true;

  constructor(
    private readonly onFailed: (what: string, err: unknown) => void,
    private readonly redactText: (err: unknown) => string,
    private readonly sharded = false,
  ) {}

  publish(pub: PublishConnection, channels: string[], payload: string): void {
    if (pub.status !== 'ready') {
      this.failed('not connected');
      return;
    }
    try {
      if (this.sharded) {
        const sent = channels.map((c) => pub.spublish!(c, payload));
        (sent.length === 1 ? sent[0] : Promise.all(sent)).then(this.onPublished, this.failed);
      } else if (channels.length === 1) {
        pub.publish(channels[0], payload).then(this.onPublished, this.failed);
      } else if (this.useScriptForRooms) {
        pub
          .eval(MULTI_PUBLISH, 0, payload, ...channels)
          .then(this.onPublished, this.onMultiPublishFailed);
      } else {
        Promise.all(channels.map((c) => pub.publish(c, payload))).then(
          this.onPublished,
          this.failed,
        );
      }
    } catch (err) {
      this.failed(err);
    }
  }

  private readonly onPublished = (): void => {
    this.published++;
  };

  private readonly failed = (err: unknown): void => {
    this.failures++;
    this.onFailed('publish', err);
  };

  private readonly onMultiPublishFailed = (err: unknown): void => {
    if (this.useScriptForRooms && EVAL_REFUSED.test(errorText(err))) {
      // EVAL refused for good: publish room by room from now on. Transient errors (OOM, BUSY,
      // LOADING...) are only counted.
      this.useScriptForRooms = false;
      hubLogger.warn(
        `Redis refused EVAL (${this.redactText(err)}); multi-room broadcasts now use one PUBLISH per room`,
      );
    }
    this.failed(err);
  };
}
